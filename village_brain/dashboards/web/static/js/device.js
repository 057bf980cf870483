// One device: its readings now with their age, a chart of any sensor, its alerts and events.

import { AlertsPanel, alertTime, thresholdsFor } from "./alerts.js";
import { getJSON } from "./api.js";
import { may, requireLogin } from "./auth.js";
import { drawChart } from "./chart.js";
import { config } from "./config.js";
import { $, debounce, h, throttle } from "./dom.js";
import {
  age,
  dateTime,
  duration,
  number,
  parseDuration,
  parseWallTime,
  reading,
  toWallTimeInput,
} from "./format.js";
import { kindName, lang, onLanguageChange, reasonName, sensorName, t } from "./i18n.js";
import { connectLive } from "./live.js";
import { legendIcon } from "./plan.js";
import { deviceState, displayName, noteReading, noteStatus, startShell } from "./shell.js";

const RANGES_MS = { "1h": 3_600_000, "1d": 86_400_000, "7d": 604_800_000 };
const STEPS_MS = [
  60_000, 300_000, 600_000, 900_000, 1_800_000, 3_600_000, 10_800_000, 21_600_000, 43_200_000,
  86_400_000,
];
const TARGET_BUCKETS = 240;
const CHART_REFRESH_MS = 5_000;

const state = {
  device: null,
  catalog: new Map(),
  latest: new Map(),
  alerting: new Set(),
  series: null,
  second: null,
  thresholds: [],
  events: [],
};

const alerts = new AlertsPanel($("#alerts"), {
  device: config.device,
  catalog: state.catalog,
  onChange(active) {
    state.alerting = new Set(active.map((a) => a.device).filter(Boolean));
    renderHead();
    renderChart();
  },
});

function renderHead() {
  const device = state.device;
  if (!device) return;
  const name = displayName(device);
  $("#device-title").textContent = name;
  document.title = `${name} · ${t("brand")}`;
  const stateName = deviceState(device, state.alerting);
  const place = device.location?.place && device.location.place !== name ? device.location.place : null;
  $("#device-meta").replaceChildren(
    h("span", { class: `badge state-${stateName}`, "data-state": stateName }, legendIcon(stateName), t(`state.${stateName}`)),
    ...[device.id, device.village, kindName(device.kind), place].filter(Boolean).map((text) => h("span", { text })),
    ...(device.foreign_id && device.foreign_id !== device.id
      ? [h("span", { class: "foreign-id", title: t("device.foreign_id"), text: device.foreign_id })]
      : []),
  );
  renderRefusal(device);
  $("#device-admin").hidden = !may("admin");
  $("#device-edit").href = `/manage/devices?edit=${encodeURIComponent(device.id)}`;
}

// Why the device's latest refused message was refused: in words, with the log a click away.
function renderRefusal(device) {
  const line = $("#device-refusal");
  line.hidden = !device.last_refused_ms;
  if (line.hidden) return;
  const current = device.health === "refused";
  line.dataset.current = current;
  line.replaceChildren(
    t(current ? "refused.now" : "refused.before", { time: dateTime(device.last_refused_ms) }),
    " ",
    h("strong", { "data-reason": device.last_refused_reason, text: reasonName(device.last_refused_reason) }),
    " · ",
    h("a", { href: `/api/v1/ingest/rejections?device=${encodeURIComponent(device.id)}`, text: t("refused.log") }),
  );
}

function renderReadings() {
  const list = $("#readings");
  const sensors = [...new Set([...(state.device?.sensors || []), ...state.latest.keys()])];
  const now = Date.now();
  const items = sensors
    .filter((sensor) => state.latest.has(sensor))
    .map((sensor) => {
      const r = state.latest.get(sensor);
      const type = state.catalog.get(sensor);
      return h(
        "li",
        { class: `reading${r.fresh ? " fresh" : ""}`, "data-sensor": sensor },
        h("span", { class: "reading-name", text: sensorName(sensor) }),
        h("span", { class: "reading-value", text: reading(r.value, sensor, type) }),
        h("time", { class: "reading-age", datetime: new Date(r.ts_ms).toISOString(), title: dateTime(r.ts_ms), text: age(r.ts_ms, now) }),
      );
    });
  list.replaceChildren(...(items.length ? items : [h("li", { class: "muted", text: t("latest.empty") })]));
  for (const r of state.latest.values()) r.fresh = false;
}

function chosenRange() {
  const value = $("#chart-controls").elements.range.value;
  if (value !== "custom") {
    const end = Date.now();
    return { start: end - RANGES_MS[value], end, live: true };
  }
  const start = parseWallTime($("#range-from").value);
  const end = parseWallTime($("#range-to").value);
  return { start, end, live: false };
}

// Buckets no finer than the sensor reports, or a sparse sensor becomes a row of lone dots.
function stepFor(sensor, spanMs) {
  const interval = parseDuration(state.catalog.get(sensor)?.interval) ?? 60_000;
  const wanted = Math.max(spanMs / TARGET_BUCKETS, interval);
  return STEPS_MS.find((ms) => ms >= wanted) ?? Math.ceil(wanted / 86_400_000) * 86_400_000;
}

async function loadChart() {
  const sensor = $("#chart-sensor").value;
  const caption = $("#chart-caption");
  if (!sensor) return;
  const { start, end } = chosenRange();
  if (start === null || end === null || start >= end) {
    caption.textContent = t("range.invalid");
    return;
  }
  const base = `/api/v1/devices/${encodeURIComponent(config.device)}`;
  const step = stepFor(sensor, end - start);
  const second = $("#chart-sensor-2").value;
  const seriesOf = (id) => getJSON(`${base}/series/${encodeURIComponent(id)}?start=${start}&end=${end}&step=${step / 1000}s`);
  const [series, thresholds, other] = await Promise.all([
    seriesOf(sensor),
    thresholdsFor(state.device, sensor),
    second && second !== sensor ? seriesOf(second) : Promise.resolve(null),
  ]);
  state.series = series;
  state.second = other;
  state.thresholds = thresholds;
  renderChart();
}

function renderChart() {
  const series = state.series;
  if (!series) return;
  const type = state.catalog.get(series.sensor);
  const other = state.second && state.second.start_ms === series.start_ms ? state.second : null;
  const extra = other
    ? { series: other, type: state.catalog.get(other.sensor), names: [sensorName(series.sensor), sensorName(other.sensor)] }
    : null;
  const result = drawChart($("#chart"), series, type, state.thresholds, alertMarks(series.sensor), extra);
  $("#chart").dataset.sensor = series.sensor;
  showCsvLink(series);
  $("#chart").dataset.buckets = series.buckets.length;
  const onShare = type?.kind === "boolean" && !result.empty ? onFraction(series.buckets) : null;
  $("#chart-caption").textContent = result.empty
    ? `${sensorName(series.sensor)}：${t("chart.empty")}`
    : onShare !== null
      ? t("chart.summary.onoff", {
          sensor: sensorName(series.sensor),
          from: dateTime(series.start_ms),
          to: dateTime(series.end_ms),
          on: reading(1, series.sensor, type),
          share: Math.round(onShare * 100),
        })
      : t("chart.summary", {
        sensor: sensorName(series.sensor),
        from: dateTime(series.start_ms),
        to: dateTime(series.end_ms),
        min: reading(result.min, series.sensor, type),
        max: reading(result.max, series.sensor, type),
        mean: number(result.mean, type),
        step: duration(series.step_ms),
      });
}

// The share of buckets whose last state was on.
function onFraction(buckets) {
  return buckets.filter((b) => b.last).length / buckets.length;
}

// This device's alerts on this sensor (or on the device as a whole), for the time axis.
function alertMarks(sensor) {
  return (alerts.alerts || [])
    .filter((a) => a.device === config.device && (!a.sensor || a.sensor === sensor))
    .map((a) => ({
      id: a.id,
      start_ms: alertTime(a),
      end_ms: a.resolved ? Date.parse(a.resolved) : null,
      severity: String(a.severity || "warning").toLowerCase(),
      label: a.rule_name || a.rule_id || "",
    }))
    .filter((m) => Number.isFinite(m.start_ms));
}

// The CSV holds the same buckets as the chart: same sensor, range and step.
function showCsvLink(series) {
  const link = $("#chart-csv");
  const base = `/api/v1/devices/${encodeURIComponent(config.device)}/series/${encodeURIComponent(series.sensor)}/csv`;
  link.href = `${base}?start=${series.start_ms}&end=${series.end_ms}&step=${series.step_ms / 1000}s&lang=${lang()}`;
  link.hidden = false;
}

function renderSensorChoice() {
  const select = $("#chart-sensor");
  const chosen = select.value || new URLSearchParams(location.search).get("sensor");
  const sensors = [...new Set([...(state.device?.sensors || []), ...state.latest.keys()])].filter(
    (s) => state.catalog.get(s)?.kind !== "text",
  );
  select.replaceChildren(...sensors.map((s) => h("option", { value: s, text: sensorName(s) })));
  if (sensors.includes(chosen)) select.value = chosen;
  // A second sensor of the device, drawn on the same time axis with its own scale.
  const compare = $("#chart-sensor-2");
  // The address chooses only the first time: a refresh keeps what the user chose, even "none".
  const compared = compare.dataset.chosen ? compare.value : new URLSearchParams(location.search).get("with");
  compare.dataset.chosen = "yes";
  compare.replaceChildren(
    h("option", { value: "", text: t("chart.with.none") }),
    ...sensors.map((s) => h("option", { value: s, text: sensorName(s) })),
  );
  if (sensors.includes(compared)) compare.value = compared;
}

function renderEvents() {
  const list = $("#events");
  list.replaceChildren(
    ...(state.events.length
      ? state.events.slice(0, 15).map((e) =>
          h(
            "li",
            {},
            h("time", { datetime: new Date(e.ts_ms).toISOString(), text: dateTime(e.ts_ms) }),
            " ",
            h("strong", { text: e.type }),
            Object.keys(e.data || {}).length ? h("span", { class: "muted", text: ` ${JSON.stringify(e.data)}` }) : null,
          ),
        )
      : [h("li", { class: "muted", text: t("events.empty") })]),
  );
}

async function loadDevice() {
  const base = `/api/v1/devices/${encodeURIComponent(config.device)}`;
  const [device, latest, events] = await Promise.all([
    getJSON(base),
    getJSON(`${base}/latest`),
    getJSON(`${base}/events?limit=15`),
  ]);
  state.device = device;
  state.latest = new Map(latest.readings.map((r) => [r.sensor, { value: r.value, ts_ms: r.ts_ms }]));
  state.events = events;
  renderHead();
  renderReadings();
  renderSensorChoice();
  renderEvents();
}

async function loadCatalog() {
  for (const type of await getJSON("/api/v1/sensor-types")) state.catalog.set(type.id, type);
}

const refreshChart = throttle(() => {
  if (chosenRange().live) loadChart().catch(() => {});
}, CHART_REFRESH_MS);

function onReadings({ readings }) {
  let mine = false;
  for (const r of readings) {
    if (r.device !== config.device) continue;
    mine = true;
    const known = state.latest.get(r.sensor);
    if (!known || known.ts_ms <= r.ts_ms) state.latest.set(r.sensor, { value: r.value, ts_ms: r.ts_ms, fresh: true });
    if (r.sensor === $("#chart-sensor").value) refreshChart();
  }
  if (!mine) return;
  if (state.device) noteReading(state.device);
  renderHead();
  renderReadings();
}

function onStatus({ device, status }) {
  if (device !== config.device || !state.device) return;
  noteStatus(state.device, status);
  renderHead();
  getJSON(`/api/v1/devices/${encodeURIComponent(config.device)}/events?limit=15`)
    .then((events) => {
      state.events = events;
      renderEvents();
    })
    .catch(() => {});
}

function wireControls() {
  const form = $("#chart-controls");
  const custom = $("#custom-range");
  form.addEventListener("change", (event) => {
    if (event.target.name === "range") {
      custom.hidden = event.target.value !== "custom";
      if (event.target.value === "custom") {
        if (!$("#range-to").value) $("#range-to").value = toWallTimeInput(Date.now());
        if (!$("#range-from").value) $("#range-from").value = toWallTimeInput(Date.now() - RANGES_MS["1d"]);
        return;
      }
    }
    if (event.target.type === "datetime-local") return;
    loadChart().catch(showChartError);
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    loadChart().catch(showChartError);
  });
}

function showChartError(error) {
  $("#chart-caption").textContent = t("load.failed", { error: error.message });
}

startShell();
await requireLogin();
wireControls();
try {
  await loadCatalog();
  await loadDevice();
  await Promise.all([loadChart(), alerts.load()]);
} catch (error) {
  $("#device-title").textContent = config.device;
  $("#device-meta").replaceChildren(h("span", { class: "error", text: t("load.failed", { error: error.message }) }));
}
connectLive({
  readings: onReadings,
  status: onStatus,
  alert: debounce(() => alerts.load(), 300),
  resync: () => loadDevice().then(loadChart).catch(() => {}),
});
setInterval(renderReadings, 10_000);
window.addEventListener("resize", debounce(renderChart, 150));
onLanguageChange(() => {
  renderHead();
  renderReadings();
  renderSensorChoice();
  renderChart();
  renderEvents();
  alerts.render();
});
