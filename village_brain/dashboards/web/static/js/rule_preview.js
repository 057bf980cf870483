// A rule's preview: the last 7 days of stored readings replayed through it on the server,
// shown as a small chart with a mark at each firing and resolution, and as a list.

import { postJSON } from "./api.js";
import { $, h, s } from "./dom.js";
import { dateTime } from "./format.js";
import { sensorName, t } from "./i18n.js";

const W = 640;
const H = 150;
const PAD = { left: 8, right: 8, top: 10, bottom: 22 };

function scale(from, to, a, b) {
  return (v) => (to === from ? (a + b) / 2 : a + ((v - from) / (to - from)) * (b - a));
}

// Firing spans of the replay: [start, end] per device/subject, end the window's end if open.
function spans(preview) {
  const open = new Map();
  const out = [];
  for (const c of preview.changes) {
    const key = `${c.device}/${c.subject}`;
    if (c.action === "fire") open.set(key, c.at_ms);
    else if (open.has(key)) {
      out.push([open.get(key), c.at_ms]);
      open.delete(key);
    }
  }
  for (const start of open.values()) out.push([start, preview.end_ms]);
  return out;
}

function chart(preview) {
  const x = scale(preview.start_ms, preview.end_ms, PAD.left, W - PAD.right);
  const values = preview.series.flatMap((one) => one.points.map((p) => p[1]));
  const low = values.length ? Math.min(...values) : 0;
  const high = values.length ? Math.max(...values) : 1;
  const y = scale(low, high, H - PAD.bottom, PAD.top);
  const lines = preview.series.map((one, i) =>
    s("polyline", {
      class: i === 0 ? "line" : "line other",
      points: one.points.map(([ts, v]) => `${x(ts).toFixed(1)},${y(v).toFixed(1)}`).join(" "),
    }),
  );
  const shaded = spans(preview).map(([a, b]) =>
    s("rect", { class: "firing-span", x: x(a).toFixed(1), y: PAD.top, width: Math.max(1, x(b) - x(a)).toFixed(1), height: H - PAD.top - PAD.bottom }),
  );
  const marks = preview.changes.map((c) =>
    s("line", { class: `mark mark-${c.action}`, "data-action": c.action, x1: x(c.at_ms).toFixed(1), x2: x(c.at_ms).toFixed(1), y1: PAD.top, y2: H - PAD.bottom }),
  );
  const axis = [preview.start_ms, preview.end_ms].map((ts, i) =>
    s("text", { class: "axis", x: i ? W - PAD.right : PAD.left, y: H - 6, "text-anchor": i ? "end" : "start", text: dateTime(ts) }),
  );
  return s(
    "svg",
    { class: "chart preview", viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": t("mr.preview.chart") },
    s("defs", {}, s("clipPath", { id: "preview-clip" }, s("rect", { x: PAD.left, y: PAD.top, width: W - PAD.left - PAD.right, height: H - PAD.top - PAD.bottom }))),
    s("g", { "clip-path": "url(#preview-clip)" }, ...shaded, ...lines, ...marks),
    ...axis,
  );
}

function changeItem(c) {
  return h(
    "li",
    { "data-action": c.action, "data-at": c.at_ms },
    `${dateTime(c.at_ms)} `,
    h("strong", { class: c.action === "fire" ? "fired" : "resolved", text: t(`mr.preview.${c.action}`) }),
    ` · ${c.device}`,
    c.subject ? ` · ${sensorName(c.subject)}` : "",
    typeof c.value === "number" ? ` · ${c.value}` : "",
  );
}

export async function showPreview(rule) {
  const box = $("#rule-preview");
  box.hidden = false;
  $("#preview-summary").textContent = t("mr.preview.running");
  $("#preview-summary").classList.remove("error");
  $("#preview-chart").replaceChildren();
  $("#preview-changes").replaceChildren();
  try {
    const preview = await postJSON("/api/v1/rules/preview", rule);
    const fired = preview.changes.filter((c) => c.action === "fire").length;
    const resolved = preview.changes.length - fired;
    $("#preview-summary").textContent = t(fired ? "mr.preview.summary" : "mr.preview.quiet", {
      fired,
      resolved,
      readings: preview.readings,
      devices: preview.devices.length,
    }) + (preview.firing_at_end.length ? ` ${t("mr.preview.still", { what: preview.firing_at_end.join("、") })}` : "");
    $("#preview-chart").replaceChildren(chart(preview));
    $("#preview-changes").replaceChildren(...preview.changes.map(changeItem));
  } catch (error) {
    $("#preview-summary").textContent = t("mr.preview.refused", { error: error.message });
    $("#preview-summary").classList.add("error");
  }
  box.scrollIntoView({ block: "nearest" });
}
