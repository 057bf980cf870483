// The alerts panel: active alerts by severity, acknowledging with a comment, recent history.
// Field names are read leniently so small differences in the alerts API do not break the page.

import { ApiError, listOf, optionalJSON, postJSON } from "./api.js";
import { may } from "./auth.js";
import { h } from "./dom.js";
import { dateTime, reading } from "./format.js";
import { sensorName, t } from "./i18n.js";

const SEVERITY_ORDER = ["critical", "major", "warning", "minor", "info"];
const DONE_STATES = new Set(["resolved", "cleared", "closed", "ok", "inactive", "ended"]);
const NAME_KEY = "village-brain.ack-by";
const HISTORY_SHOWN = 10;

export function alertTime(alert) {
  const ms = alert.started_ms ?? alert.since_ms ?? alert.ts_ms ?? alert.raised_ms;
  if (typeof ms === "number") return ms;
  const text = alert.started ?? alert.since ?? alert.raised ?? alert.time ?? alert.created;
  return text ? Date.parse(text) : null;
}

export function isActive(alert) {
  return !DONE_STATES.has(String(alert.state || "active").toLowerCase());
}

function ackedBy(alert) {
  return alert.acked_by ?? alert.acknowledged_by ?? alert.ack?.by ?? null;
}

function ackComment(alert) {
  return alert.ack_comment ?? alert.comment ?? alert.ack?.comment ?? "";
}

function severityRank(alert) {
  const rank = SEVERITY_ORDER.indexOf(String(alert.severity || "").toLowerCase());
  return rank === -1 ? SEVERITY_ORDER.length : rank;
}

function severityLabel(severity) {
  const key = `severity.${String(severity || "warning").toLowerCase()}`;
  const text = t(key);
  return text === key ? String(severity) : text;
}

export class AlertsPanel {
  // `device` limits the panel to one device; `onChange` hears the active list after each load.
  constructor(root, { device = null, catalog = new Map(), onChange = () => {} } = {}) {
    this.root = root;
    this.device = device;
    this.catalog = catalog;
    this.onChange = onChange;
    this.alerts = null;
    this.enabled = true;
    this.error = null;
  }

  async load() {
    try {
      const body = await optionalJSON("/api/v1/alerts");
      this.enabled = body !== null;
      this.alerts = body === null ? [] : listOf(body, "alerts");
      this.error = null;
    } catch (error) {
      this.error = error;
    }
    this.render();
    this.onChange(this.active());
  }

  active() {
    return (this.alerts || []).filter(isActive);
  }

  mine(list) {
    return this.device ? list.filter((a) => a.device === this.device) : list;
  }

  // Alerts reload whenever any alert changes; an acknowledgement being typed must survive that.
  render() {
    const drafts = this.drafts();
    const focused = document.activeElement?.id;
    this.draw();
    for (const [id, draft] of drafts) {
      const form = this.root.querySelector(`[data-alert="${CSS.escape(id)}"] details.ack`);
      if (!form) continue;
      form.open = true;
      form.querySelector("[name=by]").value = draft.by;
      form.querySelector("[name=comment]").value = draft.comment;
    }
    if (focused && this.root.contains(document.getElementById(focused))) document.getElementById(focused).focus();
  }

  drafts() {
    const drafts = new Map();
    for (const form of this.root.querySelectorAll("details.ack[open]")) {
      drafts.set(form.closest("[data-alert]").dataset.alert, {
        by: form.querySelector("[name=by]").value,
        comment: form.querySelector("[name=comment]").value,
      });
    }
    return drafts;
  }

  draw() {
    const body = this.root.querySelector("#alerts-body");
    body.dataset.state = this.enabled ? "enabled" : "disabled";
    if (this.error) {
      body.replaceChildren(h("p", { class: "error", text: t("load.failed", { error: this.error.message }) }));
      return;
    }
    if (!this.enabled) {
      body.replaceChildren(h("p", { class: "muted", id: "alerts-disabled", text: t("alerts.disabled") }));
      return;
    }
    const active = this.mine(this.active()).sort(
      (a, b) => severityRank(a) - severityRank(b) || (alertTime(b) ?? 0) - (alertTime(a) ?? 0),
    );
    const past = this.mine((this.alerts || []).filter((a) => !isActive(a)))
      .sort((a, b) => (alertTime(b) ?? 0) - (alertTime(a) ?? 0))
      .slice(0, HISTORY_SHOWN);
    body.replaceChildren(
      h("h3", { text: t("alerts.active") }),
      active.length
        ? h("ul", { class: "alert-list", id: "alerts-active" }, active.map((a) => this.activeItem(a)))
        : h("p", { class: "muted", text: t("alerts.none") }),
      h("h3", { text: t("alerts.history") }),
      past.length
        ? h("ul", { class: "alert-list past", id: "alerts-history" }, past.map((a) => this.pastItem(a)))
        : h("p", { class: "muted", text: t("alerts.history.none") }),
    );
  }

  headline(alert) {
    const severity = String(alert.severity || "warning").toLowerCase();
    const sensor = alert.sensor ? sensorName(alert.sensor) : "";
    const value =
      typeof alert.value === "number" && alert.sensor
        ? t("alerts.value", { value: reading(alert.value, alert.sensor, this.catalog.get(alert.sensor)) })
        : "";
    return [
      h("span", { class: `sev sev-${severity}`, text: severityLabel(alert.severity) }),
      " ",
      h("strong", { text: alert.message || alert.rule_name || alert.rule || sensor }),
      h(
        "span",
        { class: "alert-where" },
        alert.device && !this.device
          ? h("a", { href: `/devices/${encodeURIComponent(alert.device)}`, text: alert.place || alert.device_name || alert.device })
          : null,
        sensor ? ` · ${sensor}` : "",
        value ? ` · ${value}` : "",
      ),
    ];
  }

  activeItem(alert) {
    const since = alertTime(alert);
    const by = ackedBy(alert);
    return h(
      "li",
      { class: "alert", "data-alert": alert.id, "data-severity": alert.severity },
      ...this.headline(alert),
      h(
        "span",
        { class: "muted" },
        since ? t("alerts.since", { time: dateTime(since) }) : "",
        by ? ` · ${t("alerts.acked", { by })}` : "",
        by && ackComment(alert) ? `：${ackComment(alert)}` : "",
      ),
      by || !may("operator") ? null : this.ackForm(alert),
    );
  }

  pastItem(alert) {
    const since = alertTime(alert);
    const by = ackedBy(alert);
    const stateKey = `alert.state.${String(alert.state).toLowerCase()}`;
    return h(
      "li",
      { class: "alert", "data-alert": alert.id },
      ...this.headline(alert),
      h(
        "span",
        { class: "muted" },
        since ? dateTime(since) : "",
        ` · ${t(stateKey) === stateKey ? alert.state : t(stateKey)}`,
        by ? ` · ${t("alerts.acked", { by })}` : "",
      ),
    );
  }

  ackForm(alert) {
    const id = `ack-${String(alert.id).replace(/[^\w-]/g, "_")}`;
    let savedName = "";
    try {
      savedName = localStorage.getItem(NAME_KEY) || "";
    } catch {
      // No storage: the name is typed each time.
    }
    const status = h("p", { class: "error", role: "alert", hidden: true });
    const form = h(
      "form",
      { class: "ack-form", onsubmit: (event) => this.acknowledge(event, alert, form, status) },
      h("label", { for: `${id}-by`, text: t("alerts.ack.by") }),
      h("input", { id: `${id}-by`, name: "by", required: true, autocomplete: "name", value: savedName }),
      h("label", { for: `${id}-comment`, text: t("alerts.ack.comment") }),
      h("textarea", { id: `${id}-comment`, name: "comment", rows: 2 }),
      h("button", { type: "submit", text: t("alerts.ack.send") }),
      status,
    );
    return h("details", { class: "ack" }, h("summary", { text: t("alerts.ack") }), form);
  }

  async acknowledge(event, alert, form, status) {
    event.preventDefault();
    const by = form.elements.by.value.trim();
    const comment = form.elements.comment.value.trim();
    try {
      localStorage.setItem(NAME_KEY, by);
    } catch {
      // Remembering the name is a convenience only.
    }
    try {
      await postJSON(`/api/v1/alerts/${encodeURIComponent(alert.id)}/ack`, { by, comment });
      await this.load();
    } catch (error) {
      status.hidden = false;
      status.textContent = t("alerts.ack.failed", { error: error instanceof ApiError ? error.message : String(error) });
    }
  }
}

// Alert thresholds for one device's sensor, from /api/v1/rules; none when that API is absent.
// Only level rules (`above`, `below`) draw a line; rates and silences have no level to show.
export async function thresholdsFor(device, sensor) {
  let body;
  try {
    body = await optionalJSON("/api/v1/rules");
  } catch {
    return [];
  }
  if (body === null || !device) return [];
  const lines = [];
  for (const rule of listOf(body, "rules")) {
    if (rule.enabled === false || rule.sensor !== sensor) continue;
    if (rule.device && rule.device !== device.id) continue;
    if (rule.village && rule.village !== device.village) continue;
    if (rule.place && rule.place !== device.location?.place) continue;
    const severity = String(rule.severity || "warning").toLowerCase();
    for (const key of ["above", "below"]) {
      if (typeof rule[key] === "number") lines.push({ value: rule[key], severity, label: rule.name || rule.id });
    }
  }
  return lines;
}
