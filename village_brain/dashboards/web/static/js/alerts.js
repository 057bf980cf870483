// The alerts panel: active alerts by severity, what people do to them, recent history.
// It reads the alerts API's typed fields (AlertOut in the OpenAPI document). Who acknowledges,
// resolves or claims an alert is the logged-in account: the server takes it from the session.

import { ApiError, getJSON, listOf, optionalJSON, postJSON } from "./api.js";
import { may } from "./auth.js";
import { h } from "./dom.js";
import { dateTime, reading } from "./format.js";
import { sensorName, t } from "./i18n.js";

const SEVERITY_ORDER = ["critical", "major", "warning", "minor", "info"];
const HISTORY_SHOWN = 10;
// Forms a person may be typing in: kept open, with their text, when the list reloads.
const FORMS = ["ack", "resolve", "assign", "silence"];
// How long a silence made from an alert may last, as the silences API reads durations.
const SILENCE_FOR = ["30m", "1h", "2h", "4h", "12h", "1d", "3d", "7d"];

export function alertTime(alert) {
  return typeof alert.started_ms === "number" ? alert.started_ms : null;
}

export function isActive(alert) {
  return alert.state !== "resolved";
}

function severityRank(alert) {
  const rank = SEVERITY_ORDER.indexOf(alert.severity);
  return rank === -1 ? SEVERITY_ORDER.length : rank;
}

function severityLabel(severity) {
  const key = `severity.${severity}`;
  const text = t(key);
  return text === key ? String(severity) : text;
}

function stateLabel(state) {
  const key = `alert.state.${state}`;
  return t(key) === key ? state : t(key);
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
    this.timelines = new Set();
    this.silences = [];
  }

  async load() {
    try {
      const body = await optionalJSON("/api/v1/alerts");
      this.enabled = body !== null;
      this.alerts = body === null ? [] : listOf(body, "alerts");
      this.silences = this.enabled && may("operator") ? await activeSilences() : [];
      this.error = null;
    } catch (error) {
      this.error = error;
    }
    await this.render();
    this.onChange(this.active());
  }

  active() {
    return (this.alerts || []).filter(isActive);
  }

  mine(list) {
    return this.device ? list.filter((a) => a.device === this.device) : list;
  }

  // Alerts reload whenever any alert changes; what is being typed must survive that.
  async render() {
    const drafts = this.drafts();
    const focused = document.activeElement?.id;
    this.draw();
    for (const [selector, values] of drafts) {
      const form = this.root.querySelector(selector);
      if (!form) continue;
      form.open = true;
      for (const [name, value] of Object.entries(values)) form.querySelector(`[name=${name}]`).value = value;
    }
    if (focused && this.root.contains(document.getElementById(focused))) document.getElementById(focused).focus();
    await Promise.all([...this.timelines].map((id) => this.showTimeline(id)));
  }

  drafts() {
    const drafts = new Map();
    for (const kind of FORMS) {
      for (const form of this.root.querySelectorAll(`details.${kind}[open]`)) {
        const id = form.closest("[data-alert]").dataset.alert;
        const values = {};
        for (const field of form.querySelectorAll("input, textarea, select")) values[field.name] = field.value;
        drafts.set(`[data-alert="${CSS.escape(id)}"] details.${kind}`, values);
      }
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
      may("operator") ? this.silenceList() : null,
    );
  }

  // Active silences, each with who made it, why, until when, and a button to end it now.
  silenceList() {
    const mine = this.device ? this.silences.filter((s) => !s.matchers.device || s.matchers.device === this.device) : this.silences;
    return h(
      "div",
      { class: "silences", id: "silences" },
      h("h3", { text: t("silence.active") }),
      mine.length
        ? h(
            "ul",
            { class: "alert-list silence-list" },
            mine.map((silence) =>
              h(
                "li",
                { class: "alert", "data-silence": silence.id },
                h("strong", { text: silence.reason }),
                h("span", { class: "muted", text: `${silenceScope(silence.matchers)} · ${t("silence.until", { time: dateTime(silence.ends_ms) })} · ${silence.created_by}` }),
                h("button", { type: "button", class: "quiet end-silence", text: t("silence.end"), onclick: () => this.endSilence(silence) }),
              ),
            ),
          )
        : h("p", { class: "muted", text: t("silence.none") }),
    );
  }

  async endSilence(silence) {
    try {
      await postJSON(`/api/v1/silences/${encodeURIComponent(silence.id)}/expire`, {});
      await this.load();
    } catch (error) {
      alert(t("alerts.action.failed", { error: error.message }));
    }
  }

  // "静默": the alert's rule on its device, for a chosen while, with a reason for the others.
  silenceForm(alert) {
    const id = `silence-${String(alert.id).replace(/[^\w-]/g, "_")}`;
    const status = h("p", { class: "error", role: "alert", hidden: true });
    const form = h(
      "form",
      {
        class: "ack-form",
        onsubmit: async (event) => {
          event.preventDefault();
          const body = {
            matchers: { rule: alert.rule_id, device: alert.device },
            reason: form.elements.reason.value.trim(),
            duration: form.elements.duration.value,
          };
          await this.act("/api/v1/silences", body, status);
        },
      },
      h("label", { for: `${id}-duration`, text: t("silence.for") }),
      h("select", { id: `${id}-duration`, name: "duration" }, SILENCE_FOR.map((d) => h("option", { value: d, text: t(`silence.d.${d}`) }))),
      h("label", { for: `${id}-reason`, text: t("silence.reason") }),
      h("textarea", { id: `${id}-reason`, name: "reason", rows: 2, required: true }),
      h("button", { type: "submit", text: t("silence.send") }),
      status,
    );
    return h("details", { class: "action silence" }, h("summary", { text: t("silence.open") }), form);
  }

  headline(alert) {
    const sensor = alert.sensor ? sensorName(alert.sensor) : "";
    const value =
      typeof alert.value === "number" && alert.sensor
        ? t("alerts.value", { value: reading(alert.value, alert.sensor, this.catalog.get(alert.sensor)) })
        : "";
    return [
      h("span", { class: `sev sev-${alert.severity}`, text: severityLabel(alert.severity) }),
      " ",
      alert.silenced ? h("span", { class: "silenced", title: alert.silenced_by.join(", "), text: t("alerts.silenced") }) : null,
      alert.silenced ? " " : null,
      h("strong", { text: alert.message || alert.rule_name }),
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

  who(alert) {
    return [
      alert.acked_by ? ` · ${t("alerts.acked", { by: alert.acked_by })}` : "",
      alert.acked_by && alert.ack_comment ? `：${alert.ack_comment}` : "",
      alert.assignee ? ` · ${t("alerts.assignee", { name: alert.assignee })}` : "",
    ];
  }

  activeItem(alert) {
    const since = alertTime(alert);
    return h(
      "li",
      { class: "alert", "data-alert": alert.id, "data-severity": alert.severity, "data-silenced": alert.silenced ? "yes" : "no" },
      ...this.headline(alert),
      h("span", { class: "muted" }, since ? t("alerts.since", { time: dateTime(since) }) : "", ...this.who(alert)),
      may("operator") ? this.actions(alert) : null,
      this.timelineToggle(alert),
    );
  }

  pastItem(alert) {
    const since = alertTime(alert);
    return h(
      "li",
      { class: "alert", "data-alert": alert.id },
      ...this.headline(alert),
      h("span", { class: "muted" }, since ? dateTime(since) : "", ` · ${stateLabel(alert.state)}`, ...this.who(alert)),
      this.timelineToggle(alert),
    );
  }

  actions(alert) {
    const path = `/api/v1/alerts/${encodeURIComponent(alert.id)}`;
    const status = h("p", { class: "error", role: "alert", hidden: true });
    const act = (action, body) => this.act(`${path}/${action}`, body, status);
    const button = (cls, key, onclick) => h("button", { type: "button", class: cls, text: t(key), onclick });
    return h(
      "div",
      { class: "alert-actions" },
      alert.state === "firing"
        ? this.form(alert, "ack", "alerts.ack", [["comment", "alerts.ack.comment", false]], "alerts.ack.send", (v) => act("ack", v))
        : button("unack", "alerts.unack", () => act("unack", {})),
      alert.assignee
        ? button("unassign", "alerts.unassign", () => act("unassign", {}))
        : button("claim", "alerts.claim", () => act("assign", {})),
      this.form(alert, "assign", "alerts.assign", [["assignee", "alerts.assign.to", true]], "alerts.assign.send", (v) => act("assign", v)),
      this.form(alert, "resolve", "alerts.resolve", [["note", "alerts.resolve.note", true]], "alerts.resolve.send", (v) => act("resolve", v)),
      this.silenceForm(alert),
      status,
    );
  }

  // A folded form: `fields` are [name, label key, required]; `send` gets their trimmed values.
  form(alert, kind, summaryKey, fields, sendKey, send) {
    const id = `${kind}-${String(alert.id).replace(/[^\w-]/g, "_")}`;
    const inputs = fields.flatMap(([name, labelKey, required]) => [
      h("label", { for: `${id}-${name}`, text: t(labelKey) }),
      name === "assignee"
        ? h("input", { id: `${id}-${name}`, name, required })
        : h("textarea", { id: `${id}-${name}`, name, rows: 2, required }),
    ]);
    const form = h(
      "form",
      {
        class: "ack-form",
        onsubmit: (event) => {
          event.preventDefault();
          const values = {};
          for (const [name] of fields) values[name] = form.elements[name].value.trim();
          send(values);
        },
      },
      ...inputs,
      h("button", { type: "submit", text: t(sendKey) }),
    );
    return h("details", { class: `action ${kind}` }, h("summary", { text: t(summaryKey) }), form);
  }

  async act(path, body, status) {
    try {
      await postJSON(path, body);
      for (const open of this.root.querySelectorAll("details.action[open]")) open.open = false;
      await this.load();
    } catch (error) {
      status.hidden = false;
      status.textContent = t("alerts.action.failed", { error: error instanceof ApiError ? error.message : String(error) });
    }
  }

  timelineToggle(alert) {
    const id = String(alert.id);
    const list = h("ol", { class: "timeline", "data-timeline": id, hidden: !this.timelines.has(id) });
    const toggle = h("button", {
      type: "button",
      class: "link timeline-toggle",
      "aria-expanded": this.timelines.has(id) ? "true" : "false",
      text: t("alerts.timeline"),
      onclick: async () => {
        if (this.timelines.has(id)) this.timelines.delete(id);
        else this.timelines.add(id);
        toggle.setAttribute("aria-expanded", this.timelines.has(id) ? "true" : "false");
        list.hidden = !this.timelines.has(id);
        if (this.timelines.has(id)) await this.showTimeline(id);
      },
    });
    return h("div", { class: "alert-timeline" }, toggle, list);
  }

  async showTimeline(id) {
    const list = this.root.querySelector(`[data-timeline="${CSS.escape(id)}"]`);
    if (!list) return;
    try {
      const entries = await getJSON(`/api/v1/alerts/${encodeURIComponent(id)}/timeline`);
      list.replaceChildren(
        ...entries.map((entry) => {
          const key = `timeline.${entry.kind}`;
          return h(
            "li",
            { "data-kind": entry.kind },
            `${dateTime(entry.at_ms)} `,
            h("strong", { text: t(key) === key ? entry.kind : t(key) }),
            entry.by ? ` · ${entry.by}` : "",
            entry.comment ? `：${entry.comment}` : "",
          );
        }),
      );
    } catch (error) {
      list.replaceChildren(h("li", { class: "error", text: t("load.failed", { error: error.message }) }));
    }
  }
}

// The silences in force; none shown (rather than the panel failing) when they cannot be read.
async function activeSilences() {
  try {
    return listOf(await optionalJSON("/api/v1/silences?state=active"), "silences");
  } catch {
    return [];
  }
}

function silenceScope(matchers) {
  return Object.entries(matchers || {})
    .filter(([, value]) => value)
    .map(([key, value]) => `${t(`silence.m.${key}`)} ${value}`)
    .join(" · ");
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
