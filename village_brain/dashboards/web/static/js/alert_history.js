// Alert history: every alert the server keeps, filtered by village, device, rule, severity
// and time, each with its timeline; the filtered list exports as CSV. Field names are read
// leniently, as in the alerts panel, so that additions to the alerts API do not break it.

import { requireLogin } from "./auth.js";
import { listOf, optionalJSON } from "./api.js";
import { alertTime } from "./alerts.js";
import { csvText, download } from "./csv.js";
import { $, h } from "./dom.js";
import { dateTime, parseWallTime, reading, toWallTimeInput } from "./format.js";
import { onLanguageChange, sensorName, t } from "./i18n.js";
import { startShell } from "./shell.js";

const LIMIT = 1000;
const SEVERITIES = ["critical", "major", "warning", "minor", "info"];
const state = { alerts: [], enabled: true, catalog: new Map(), open: new Map() };

function label(prefix, value) {
  const key = `${prefix}.${String(value ?? "").toLowerCase()}`;
  const text = t(key);
  return text === key ? String(value ?? "") : text;
}

function ruleOf(alert) {
  return alert.rule_name || alert.rule || alert.rule_id || "";
}

function fillSelect(select, values, text) {
  const chosen = select.value;
  select.replaceChildren(
    h("option", { value: "", text: t("filter.all") }),
    ...values.map((v) => h("option", { value: v, text: text(v) })),
  );
  if (values.includes(chosen)) select.value = chosen;
}

function renderFilters() {
  const distinct = (pick) => [...new Set(state.alerts.map(pick).filter(Boolean))].sort();
  fillSelect($("#af-village"), distinct((a) => a.village), (v) => v);
  fillSelect($("#af-device"), distinct((a) => a.device), (v) => v);
  fillSelect($("#af-rule"), distinct((a) => a.rule_id), (id) => ruleOf(state.alerts.find((a) => a.rule_id === id)));
  fillSelect($("#af-severity"), SEVERITIES, (s) => label("severity", s));
}

function chosen() {
  const from = parseWallTime($("#af-from").value);
  const to = parseWallTime($("#af-to").value);
  return {
    village: $("#af-village").value,
    device: $("#af-device").value,
    rule: $("#af-rule").value,
    severity: $("#af-severity").value,
    from: Number.isFinite(from) ? from : null,
    to: Number.isFinite(to) ? to : null,
  };
}

function shown() {
  const f = chosen();
  return state.alerts.filter((a) => {
    const at = alertTime(a);
    return (
      (!f.village || a.village === f.village) &&
      (!f.device || a.device === f.device) &&
      (!f.rule || a.rule_id === f.rule) &&
      (!f.severity || String(a.severity).toLowerCase() === f.severity) &&
      (f.from === null || (at !== null && at >= f.from)) &&
      (f.to === null || (at !== null && at <= f.to))
    );
  });
}

function valueText(alert) {
  if (typeof alert.value !== "number") return "";
  return alert.sensor ? reading(alert.value, alert.sensor, state.catalog.get(alert.sensor)) : String(alert.value);
}

function timelineList(entries) {
  return h(
    "ol",
    { class: "timeline" },
    entries.map((e) =>
      h(
        "li",
        { "data-kind": e.kind },
        h("time", { datetime: e.time, text: dateTime(e.at_ms ?? Date.parse(e.time)) }),
        " ",
        h("strong", { text: label("ah.ev", e.kind) }),
        e.by ? ` ${t("ah.ev.by", { by: e.by })}` : "",
        typeof e.value === "number" ? ` · ${e.value}` : "",
        e.comment ? ` · ${e.comment}` : "",
      ),
    ),
  );
}

async function showTimeline(details, alert) {
  if (!details.open || details.dataset.loaded) return;
  details.dataset.loaded = "true";
  const body = details.querySelector(".timeline-body");
  try {
    const entries = listOf(await optionalJSON(`/api/v1/alerts/${encodeURIComponent(alert.id)}/timeline`), "timeline");
    state.open.set(alert.id, entries);
    body.replaceChildren(timelineList(entries));
  } catch (error) {
    body.replaceChildren(h("p", { class: "error", text: t("load.failed", { error: error.message }) }));
    delete details.dataset.loaded;
  }
}

function item(alert) {
  const severity = String(alert.severity || "warning").toLowerCase();
  const at = alertTime(alert);
  const details = h(
    "details",
    { class: "alert-timeline" },
    h("summary", { text: t("ah.timeline") }),
    h("div", { class: "timeline-body" }, state.open.has(alert.id) ? timelineList(state.open.get(alert.id)) : t("loading")),
  );
  details.addEventListener("toggle", () => showTimeline(details, alert));
  const where = [alert.village, alert.device_name || alert.device, alert.place].filter(Boolean).join(" · ");
  return h(
    "li",
    { class: "alert", "data-alert": alert.id, "data-state": alert.state },
    h(
      "span",
      {},
      h("span", { class: `sev sev-${severity}`, text: label("severity", severity) }),
      " ",
      h("strong", { text: ruleOf(alert) }),
      " · ",
      label("ah.state", alert.state),
    ),
    h("span", { class: "alert-where", text: where }),
    h("span", { class: "muted" }, at ? dateTime(at) : "", alert.sensor ? ` · ${sensorName(alert.sensor)} ${valueText(alert)}` : ""),
    alert.message ? h("span", { text: alert.message }) : null,
    details,
  );
}

function render() {
  const list = $("#ah-list");
  if (!state.enabled) {
    list.replaceChildren(h("li", { class: "muted", text: t("alerts.disabled") }));
    $("#ah-csv").hidden = true;
    return;
  }
  const alerts = shown();
  $("#ah-count").textContent = t("ah.count", { n: alerts.length });
  list.replaceChildren(...(alerts.length ? alerts.map(item) : [h("li", { class: "muted", text: t("ah.none") })]));
}

function exportCsv() {
  const columns = ["started", "state", "severity", "rule", "village", "device", "place", "message", "value", "acked", "acked_by", "resolved"];
  const rows = shown().map((a) => [
    a.started ?? "",
    label("ah.state", a.state),
    label("severity", a.severity),
    ruleOf(a),
    a.village,
    a.device_name ? `${a.device_name} (${a.device})` : a.device,
    a.place ?? "",
    a.message ?? "",
    valueText(a),
    a.acked ?? "",
    a.acked_by ?? "",
    a.resolved ?? "",
  ]);
  const today = toWallTimeInput(Date.now()).slice(0, 10);
  download(`alerts-${today}.csv`, csvText(columns.map((c) => t(`ah.col.${c}`)), rows));
}

async function load() {
  if (!state.catalog.size) {
    for (const type of (await optionalJSON("/api/v1/sensor-types")) || []) state.catalog.set(type.id, type);
  }
  const body = await optionalJSON(`/api/v1/alerts?limit=${LIMIT}`);
  state.enabled = body !== null;
  state.alerts = listOf(body, "alerts").sort((a, b) => (alertTime(b) ?? 0) - (alertTime(a) ?? 0));
  renderFilters();
  render();
}

startShell();
await requireLogin();
const params = new URLSearchParams(location.search);
try {
  await load();
} catch (error) {
  $("#ah-status").textContent = t("load.failed", { error: error.message });
}
for (const key of ["village", "device", "rule", "severity"]) {
  const select = $(`#af-${key}`);
  if (params.get(key) && [...select.options].some((o) => o.value === params.get(key))) select.value = params.get(key);
  select.addEventListener("change", render);
}
for (const id of ["#af-from", "#af-to"]) $(id).addEventListener("change", render);
$("#ah-filters").addEventListener("submit", (event) => event.preventDefault());
$("#ah-csv").addEventListener("click", exportCsv);
render();
onLanguageChange(() => {
  renderFilters();
  render();
});
