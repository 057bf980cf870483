// The overview: counts, the village plan, the alerts panel and every device's readings now.

import { may, requireLogin } from "./auth.js";
import { AlertsPanel } from "./alerts.js";
import { getJSON } from "./api.js";
import { config } from "./config.js";
import { $, debounce, h, throttle } from "./dom.js";
import { age, reading } from "./format.js";
import { onLanguageChange, sensorName, t, kindName } from "./i18n.js";
import { connectLive } from "./live.js";
import { deviceTitle, drawPlan, legendIcon, unplacedNote } from "./plan.js";
import { deviceState, displayName, noteReading, noteStatus, startShell } from "./shell.js";

const READINGS_SHOWN = 3;
const FILTER_KEY = "village-brain.filters";

const state = {
  devices: [],
  catalog: new Map(),
  latest: new Map(), // device id → Map(sensor → {value, ts_ms})
  alerting: new Set(),
  activeAlerts: 0,
  fresh: new Set(),
  liveUpdates: 0, // counts what the live feed told
  toldAt: new Map(), // device id → liveUpdates when the live feed last told of it
};

const alerts = new AlertsPanel($("#alerts"), {
  catalog: state.catalog,
  onChange(active) {
    state.alerting = new Set(active.map((a) => a.device).filter(Boolean));
    state.activeAlerts = active.length;
    render();
  },
});

function filters() {
  return { village: $("#filter-village").value, sensor: $("#filter-sensor").value };
}

function visibleDevices() {
  const { village, sensor } = filters();
  return state.devices.filter(
    (d) => (!village || d.village === village) && (!sensor || d.sensors.includes(sensor)),
  );
}

function readingsOf(device) {
  const { sensor } = filters();
  const latest = state.latest.get(device.id) || new Map();
  // The filtered sensor first, then the device's own order (its main quantity leads).
  const rank = (id) => (id === sensor ? -1 : device.sensors.includes(id) ? device.sensors.indexOf(id) : 99);
  const order = [...latest.keys()].sort((a, b) => rank(a) - rank(b));
  return order.map((id) => ({ sensor: id, ...latest.get(id) }));
}

function lastReport(device) {
  const latest = state.latest.get(device.id);
  const fromReadings = latest ? Math.max(...[...latest.values()].map((r) => r.ts_ms)) : 0;
  const seen = device.last_seen ? Date.parse(device.last_seen) : 0;
  return Math.max(fromReadings, seen) || null;
}

function summary(device) {
  return readingsOf(device)
    .slice(0, READINGS_SHOWN)
    .map((r) => `${sensorName(r.sensor)} ${reading(r.value, r.sensor, state.catalog.get(r.sensor))}`)
    .join("，");
}

function fillSelect(select, values, label) {
  const chosen = select.value;
  select.replaceChildren(
    h("option", { value: "", "data-i18n": "filter.all", text: t("filter.all") }),
    ...values.map((v) => h("option", { value: v, text: label(v) })),
  );
  if (values.includes(chosen)) select.value = chosen;
}

function renderFilters() {
  const villages = [...new Set(state.devices.map((d) => d.village))].sort();
  const sensors = [...new Set(state.devices.flatMap((d) => d.sensors))].sort();
  fillSelect($("#filter-village"), villages, (v) => v);
  fillSelect($("#filter-sensor"), sensors, sensorName);
}

// Each device counts once: online and healthy, reporting but refused, or offline (or never heard).
function renderCounts(devices) {
  const ok = devices.filter((d) => d.health === "ok").length;
  const refused = devices.filter((d) => d.health === "refused").length;
  $("#count-online").textContent = ok;
  $("#count-refused").textContent = refused;
  $("#count-offline").textContent = devices.length - ok - refused;
  $("#count-alerts").textContent = alerts.enabled ? state.activeAlerts : "–";
}

function renderLegend() {
  $("#legend").replaceChildren(
    ...["ok", "alerting", "refused", "offline"].map((s) =>
      h("li", { class: `state-${s}` }, legendIcon(s), h("span", { text: t(`state.${s}`) })),
    ),
  );
}

function healthState(device) {
  if (device.health === "ok") return null;
  return device.health === "refused" ? "refused" : "offline";
}

function stateBadge(stateName) {
  return h("span", { class: `badge state-${stateName}` }, legendIcon(stateName), t(`state.${stateName}`));
}

function renderTable(devices) {
  const body = $("#devices tbody");
  if (!devices.length) {
    body.replaceChildren(h("tr", {}, h("td", { colspan: 4, class: "muted", text: t("devices.empty") })));
    return;
  }
  const now = Date.now();
  body.replaceChildren(
    ...devices.map((device) => {
      const stateName = deviceState(device, state.alerting);
      const seen = lastReport(device);
      const readings = readingsOf(device).slice(0, READINGS_SHOWN);
      return h(
        "tr",
        { "data-device": device.id, "data-state": stateName, class: state.fresh.has(device.id) ? "fresh" : null },
        h(
          "th",
          { scope: "row" },
          h("a", { href: `/devices/${encodeURIComponent(device.id)}`, text: displayName(device) }),
          h("span", { class: "sub", text: `${device.id} · ${device.village} · ${kindName(device.kind)}` }),
        ),
        // An alerting device that is also offline (or refused) says both, as the counts do.
        h("td", {}, stateBadge(stateName), stateName === "alerting" && healthState(device) ? [" ", stateBadge(healthState(device))] : null),
        h(
          "td",
          { class: "now" },
          readings.map((r) =>
            h(
              "span",
              { class: "chip", "data-sensor": r.sensor },
              h("span", { class: "chip-name", text: sensorName(r.sensor) }),
              " ",
              h("span", { class: "chip-value", text: reading(r.value, r.sensor, state.catalog.get(r.sensor)) }),
            ),
          ),
        ),
        h("td", { class: "age" }, seen ? h("time", { datetime: new Date(seen).toISOString(), text: age(seen, now) }) : t("never")),
      );
    }),
  );
}

function renderPlan(devices) {
  const items = devices.map((device) => {
    const stateName = deviceState(device, state.alerting);
    return { device, state: stateName, title: deviceTitle(device, stateName, summary(device)) };
  });
  drawPlan($("#plan"), state.devices, items, config.tileUrl);
  const note = unplacedNote(devices);
  $(".plan-card .muted")?.remove();
  if (note && may("admin")) {
    // Admins can place them on the plan of the device management page.
    note.append(" ", h("a", { href: "/manage/devices", id: "place-devices", text: t("plan.place") }));
  }
  if (note) $("#legend").after(note);
}

const render = throttle(() => {
  const devices = visibleDevices();
  renderCounts(devices);
  renderPlan(devices);
  renderTable(devices);
  state.fresh.clear();
}, 400);

async function loadDevices() {
  const asked = state.liveUpdates;
  const [devices, latest] = await Promise.all([getJSON("/api/v1/devices"), getJSON("/api/v1/latest")]);
  // What the live feed told while the answer was on its way is newer than the answer.
  const told = new Map(state.devices.filter((d) => (state.toldAt.get(d.id) ?? 0) > asked).map((d) => [d.id, d]));
  for (const device of devices) {
    const newer = told.get(device.id);
    if (newer) Object.assign(device, { online: newer.online, health: newer.health });
  }
  state.devices = devices.sort((a, b) => a.village.localeCompare(b.village) || a.id.localeCompare(b.id));
  const fetched = new Map(
    latest.map((d) => [d.device, new Map(d.readings.map((r) => [r.sensor, { value: r.value, ts_ms: r.ts_ms }]))]),
  );
  for (const [id, readings] of state.latest) {
    if (!fetched.has(id)) continue;
    for (const [sensor, r] of readings) {
      const answer = fetched.get(id).get(sensor);
      if (!answer || answer.ts_ms < r.ts_ms) fetched.get(id).set(sensor, r);
    }
  }
  state.latest = fetched;
  renderFilters();
  render();
}

async function loadCatalog() {
  if (state.catalog.size) return;
  for (const type of await getJSON("/api/v1/sensor-types")) state.catalog.set(type.id, type);
}

async function loadAll() {
  try {
    await loadCatalog();
    await Promise.all([loadDevices(), alerts.load()]);
  } catch (error) {
    $("#devices tbody").replaceChildren(
      h("tr", {}, h("td", { colspan: 4, class: "error", text: t("load.failed", { error: error.message }) })),
    );
  }
}

function onReadings({ readings }) {
  let unknown = false;
  for (const r of readings) {
    const device = state.devices.find((d) => d.id === r.device);
    if (!device) {
      unknown = true;
      continue;
    }
    if (!state.latest.has(r.device)) state.latest.set(r.device, new Map());
    const known = state.latest.get(r.device).get(r.sensor);
    if (!known || known.ts_ms <= r.ts_ms) state.latest.get(r.device).set(r.sensor, { value: r.value, ts_ms: r.ts_ms });
    noteReading(device);
    state.toldAt.set(device.id, ++state.liveUpdates);
    state.fresh.add(r.device);
  }
  if (unknown) reloadDevices();
  render();
}

function onStatus({ device, status }) {
  const known = state.devices.find((d) => d.id === device);
  if (!known) return reloadDevices();
  noteStatus(known, status);
  state.toldAt.set(known.id, ++state.liveUpdates);
  render();
}

function restoreFilters() {
  try {
    const saved = JSON.parse(sessionStorage.getItem(FILTER_KEY) || "{}");
    for (const [key, value] of Object.entries(saved)) {
      const select = $(`#filter-${key}`);
      if (select && [...select.options].some((o) => o.value === value)) select.value = value;
    }
  } catch {
    // Filters simply start empty.
  }
}

const reloadDevices = debounce(() => loadDevices().catch(() => {}), 500);
const reloadAlerts = debounce(() => alerts.load(), 300);

startShell();
await requireLogin();
renderLegend();
await loadAll();
restoreFilters();
render();
for (const select of ["#filter-village", "#filter-sensor"]) {
  $(select).addEventListener("change", () => {
    try {
      sessionStorage.setItem(FILTER_KEY, JSON.stringify(filters()));
    } catch {
      // Remembering filters is a convenience only.
    }
    render();
  });
}
connectLive({ readings: onReadings, status: onStatus, alert: reloadAlerts, resync: () => loadAll() });
// Silence turns a device offline without any message, so presence is asked for now and then.
setInterval(reloadDevices, 60_000);
setInterval(render, 15_000);
window.addEventListener("resize", debounce(render, 150));
onLanguageChange(() => {
  renderFilters();
  renderLegend();
  alerts.render();
  render();
});
