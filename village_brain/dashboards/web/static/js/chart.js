// One sensor's bucketed history as SVG: a min–max band and the mean line (or, for an on/off
// sensor, a step line between its two words), alert thresholds named by their rules, and
// alerts marked along the time axis. Everything is clipped to the plot.

import { s } from "./dom.js";
import { clock, day, dayAndClock, dateTime, number, reading, zoneOffsetMs } from "./format.js";
import { t } from "./i18n.js";

let clipIds = 0;
const LABEL_GAP = 13;

const MARGIN = { top: 26, right: 16, bottom: 30, left: 56 };
const TICK_STEPS_MS = [
  60_000, 300_000, 600_000, 900_000, 1_800_000, 3_600_000, 7_200_000, 10_800_000, 21_600_000,
  43_200_000, 86_400_000, 172_800_000, 604_800_000,
];

function niceStep(span, count) {
  const raw = span / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const unit = raw / power;
  return (unit <= 1 ? 1 : unit <= 2 ? 2 : unit <= 2.5 ? 2.5 : unit <= 5 ? 5 : 10) * power;
}

function valueRange(buckets, thresholds) {
  const values = [...buckets.flatMap((b) => [b.min, b.max]), ...thresholds.map((x) => x.value)];
  let lo = Math.min(...values);
  let hi = Math.max(...values);
  if (lo === hi) {
    lo -= Math.abs(lo) * 0.05 || 1;
    hi += Math.abs(hi) * 0.05 || 1;
  }
  const step = niceStep(hi - lo, 5);
  return { lo: Math.floor(lo / step) * step, hi: Math.ceil(hi / step) * step, step };
}

// Runs of neighbouring buckets; a missing bucket breaks the band and the line.
function runs(buckets, stepMs) {
  const out = [];
  let run = [];
  for (const bucket of buckets) {
    if (run.length && bucket.start_ms - run[run.length - 1].start_ms > stepMs * 1.5) {
      out.push(run);
      run = [];
    }
    run.push(bucket);
  }
  if (run.length) out.push(run);
  return out;
}

function timeTicks(startMs, endMs, plotWidth) {
  const wanted = Math.max(2, Math.floor(plotWidth / 90));
  const step = TICK_STEPS_MS.find((ms) => (endMs - startMs) / ms <= wanted) ?? TICK_STEPS_MS.at(-1);
  // Ticks fall on round wall-clock times in the configured zone, not in UTC.
  const offset = zoneOffsetMs(startMs);
  const ticks = [];
  for (let wall = Math.ceil((startMs + offset) / step) * step; wall - offset <= endMs; wall += step) {
    ticks.push(wall - offset);
  }
  const label = step >= 86_400_000 ? day : endMs - startMs > 86_400_000 ? dayAndClock : clock;
  return { ticks, label };
}

// A long rule name would run across the plot; the whole name is in the label's tooltip.
function shortened(name, most = 24) {
  return name.length > most ? `${name.slice(0, most - 1)}…` : name;
}

// Threshold labels that would sit on top of each other are moved apart, upwards from the
// lowest, so that each stays above its own line and clear of the lines below it.
function spreadLabels(ys, top) {
  const order = ys.map((y, i) => ({ y, i })).sort((a, b) => b.y - a.y);
  let last = Infinity;
  const out = [];
  for (const { y, i } of order) {
    last = Math.max(top, Math.min(y, last - LABEL_GAP));
    out[i] = last;
  }
  return out;
}

// An on/off sensor: the last state of each bucket, held until the next, between two words.
function drawSteps(data, buckets, series, x, y, plot) {
  for (const run of runs(buckets, series.step_ms)) {
    let d = "";
    let area = "";
    for (const b of run) {
      const x0 = x(b.start_ms);
      const x1 = x(b.start_ms + series.step_ms);
      const yy = y(b.last ? 1 : 0);
      d += d ? ` V${yy.toFixed(1)} H${x1.toFixed(1)}` : `M${x0.toFixed(1)},${yy.toFixed(1)} H${x1.toFixed(1)}`;
      if (b.last) area += `M${x0.toFixed(1)},${plot.y1} V${yy.toFixed(1)} H${x1.toFixed(1)} V${plot.y1} Z`;
    }
    if (area) data.append(s("path", { d: area, class: "on-area" }));
    data.append(s("path", { d, class: "step mean" }));
  }
}

// A second sensor of the same device on the same time axis, with its own scale on the right.
function drawSecond(svg, extra, { plot, x, clipId }) {
  const other = extra.series;
  const otherType = extra.type;
  const onOff = otherType?.kind === "boolean";
  const range = onOff ? { lo: -0.15, hi: 1.15, step: 1 } : valueRange(other.buckets, []);
  const y = (v) => plot.y1 - ((v - range.lo) / (range.hi - range.lo)) * (plot.y1 - plot.y0);
  const axis = s("g", { class: "axes second-axis" });
  const levels = onOff ? [0, 1] : [];
  if (!onOff) for (let v = range.lo; v <= range.hi + range.step / 2; v += range.step) levels.push(v);
  for (const v of levels) {
    const text = onOff ? reading(v, other.sensor, otherType) : number(v, { resolution: range.step / 10 });
    axis.append(s("text", { x: plot.x1 + 6, y: y(v) + 4, "text-anchor": "start" }, text));
  }
  axis.append(s("path", { d: `M${plot.x1},${plot.y0} V${plot.y1}`, class: "axis" }));
  if (otherType?.symbol && !onOff) {
    axis.append(s("text", { x: plot.x1 + 6, y: 12, "text-anchor": "start", class: "unit" }, otherType.symbol));
  }
  svg.append(axis);
  const line = s("g", { class: "data second", "clip-path": `url(#${clipId})` });
  for (const run of runs(other.buckets, other.step_ms)) {
    const points = run.flatMap((b) => {
      const at = (ms, v) => `${x(ms).toFixed(1)},${y(v).toFixed(1)}`;
      if (!onOff) return [at(b.start_ms + other.step_ms / 2, b.mean)];
      const v = b.last ? 1 : 0;
      return [at(b.start_ms, v), at(b.start_ms + other.step_ms, v)];
    });
    line.append(s("path", { d: `M${points.join("L")}`, class: "second-line" }));
  }
  svg.append(line);
  // Which line is which, in words and in the two line styles.
  const key = s("g", { class: "chart-key" });
  const gap = 44 + extra.names[0].length * 12;
  key.append(
    s("line", { x1: plot.x0 + 4, x2: plot.x0 + 24, y1: 10, y2: 10, class: "mean" }),
    s("text", { x: plot.x0 + 28, y: 14 }, extra.names[0]),
    s("line", { x1: plot.x0 + gap, x2: plot.x0 + gap + 20, y1: 10, y2: 10, class: "second-line" }),
    s("text", { x: plot.x0 + gap + 24, y: 14 }, extra.names[1]),
  );
  svg.append(key);
}

function drawAlertMarks(svg, marks, series, x, plot) {
  const group = s("g", { class: "alert-marks" });
  for (const mark of marks) {
    if (mark.start_ms > series.end_ms || (mark.end_ms ?? series.end_ms) < series.start_ms) continue;
    const x0 = Math.max(plot.x0, x(mark.start_ms));
    const x1 = Math.min(plot.x1, x(mark.end_ms ?? series.end_ms));
    const severity = mark.severity || "warning";
    // At least 2 px, and inside the plot for an alert that began at its very right edge.
    const left = Math.min(x0, plot.x1 - 2);
    group.append(
      s("rect", { x: left, y: plot.y1 - 4, width: Math.max(2, x1 - left), height: 4, class: `alert-span sev-${severity}` }),
      s(
        "path",
        { d: `M${x0.toFixed(1)},${plot.y1 - 4} l-5,-8 h10 z`, class: `alert-mark sev-${severity}`, "data-alert": mark.id ?? "" },
        s("title", {}, `${mark.label} · ${dateTime(mark.start_ms)}`),
      ),
    );
  }
  svg.append(group);
}

// Draws the chart and returns what a reader needs to know without seeing it. `marks` are the
// device's alerts: {start_ms, end_ms (null while active), severity, label}.
export function drawChart(svg, series, type, thresholds, marks = [], extra = null) {
  const width = Math.max(300, svg.parentElement.clientWidth || 600);
  const height = Math.round(Math.min(360, Math.max(220, width * 0.42)));
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.style.height = `${height}px`;
  svg.replaceChildren();
  const plot = {
    x0: MARGIN.left,
    x1: width - (extra ? MARGIN.left : MARGIN.right),
    y0: MARGIN.top,
    y1: height - MARGIN.bottom,
  };
  const buckets = series.buckets;
  const x = (ms) => plot.x0 + ((ms - series.start_ms) / (series.end_ms - series.start_ms)) * (plot.x1 - plot.x0);
  const mid = (b) => x(b.start_ms + series.step_ms / 2);

  const frame = s("g", { class: "axes" });
  svg.append(frame);
  const { ticks, label } = timeTicks(series.start_ms, series.end_ms, plot.x1 - plot.x0);
  for (const tick of ticks) {
    frame.append(
      s("line", { x1: x(tick), x2: x(tick), y1: plot.y0, y2: plot.y1, class: "grid" }),
      s("text", { x: x(tick), y: plot.y1 + 18, "text-anchor": "middle" }, label(tick)),
    );
  }
  if (!buckets.length) {
    svg.append(s("text", { x: width / 2, y: height / 2, "text-anchor": "middle", class: "chart-empty" }, t("chart.empty")));
    return { empty: true };
  }

  const onOff = type?.kind === "boolean";
  const range = onOff ? { lo: -0.15, hi: 1.15, step: 1 } : valueRange(buckets, thresholds);
  const y = (v) => plot.y1 - ((v - range.lo) / (range.hi - range.lo)) * (plot.y1 - plot.y0);
  const levels = onOff ? [0, 1] : [];
  if (!onOff) for (let v = range.lo; v <= range.hi + range.step / 2; v += range.step) levels.push(v);
  for (const v of levels) {
    const text = onOff ? reading(v, series.sensor, type) : number(v, { resolution: range.step / 10 });
    frame.append(
      s("line", { x1: plot.x0, x2: plot.x1, y1: y(v), y2: y(v), class: "grid" }),
      s("text", { x: plot.x0 - 6, y: y(v) + 4, "text-anchor": "end" }, text),
    );
  }
  // Buckets reach past the range's ends (the last one ends after "now"): clip to the plot.
  const clipId = `chart-clip-${++clipIds}`;
  svg.append(
    s("clipPath", { id: clipId }, s("rect", { x: plot.x0, y: plot.y0 - 2, width: plot.x1 - plot.x0, height: plot.y1 - plot.y0 + 4 })),
  );
  frame.append(s("path", { d: `M${plot.x0},${plot.y0} V${plot.y1} H${plot.x1}`, class: "axis" }));
  if (type?.symbol && !onOff) {
    frame.append(s("text", { x: plot.x0 - 6, y: 12, "text-anchor": "end", class: "unit" }, type.symbol));
  }

  const data = s("g", { class: "data", "clip-path": `url(#${clipId})` });
  if (onOff) drawSteps(data, buckets, series, x, y, plot);
  for (const run of onOff ? [] : runs(buckets, series.step_ms)) {
    if (run.length === 1) {
      const b = run[0];
      data.append(
        s("line", { x1: mid(b), x2: mid(b), y1: y(b.min), y2: y(b.max), class: "band-line" }),
        s("circle", { cx: mid(b), cy: y(b.mean), r: 3, class: "mean-point" }),
      );
      continue;
    }
    const top = run.map((b) => `${mid(b).toFixed(1)},${y(b.max).toFixed(1)}`);
    const bottom = run.map((b) => `${mid(b).toFixed(1)},${y(b.min).toFixed(1)}`).reverse();
    data.append(s("path", { d: `M${top.join("L")}L${bottom.join("L")}Z`, class: "band" }));
    data.append(
      s("path", { d: `M${run.map((b) => `${mid(b).toFixed(1)},${y(b.mean).toFixed(1)}`).join("L")}`, class: "mean" }),
    );
  }
  svg.append(data);
  if (extra?.series.buckets.length) drawSecond(svg, extra, { plot, x, clipId });

  const limits = s("g", { class: "thresholds" });
  const shownLines = onOff ? [] : thresholds;
  const labelYs = spreadLabels(shownLines.map((line) => y(line.value) - 5), plot.y0 + 10);
  shownLines.forEach((line, i) => {
    const yy = y(line.value);
    const name = line.label || t("chart.threshold");
    limits.append(
      s("line", { x1: plot.x0, x2: plot.x1, y1: yy, y2: yy, class: `threshold sev-${line.severity}` }),
      s(
        "text",
        { x: plot.x1 - 4, y: labelYs[i], "text-anchor": "end", class: `threshold-label sev-${line.severity}` },
        s("title", {}, name),
        `${shortened(name)} ${number(line.value, type)}`,
      ),
    );
  });
  svg.append(limits);
  drawAlertMarks(svg, marks, series, x, plot);
  svg.append(cursor(svg, buckets, type, { plot, y, mid }));

  const lo = Math.min(...buckets.map((b) => b.min));
  const hi = Math.max(...buckets.map((b) => b.max));
  const count = buckets.reduce((a, b) => a + b.count, 0);
  const mean = buckets.reduce((a, b) => a + b.mean * b.count, 0) / count;
  return { empty: false, min: lo, max: hi, mean };
}

// A readout that follows the pointer, or the arrow keys when the chart has focus.
function cursor(svg, buckets, type, { plot, y, mid }) {
  const group = s("g", { class: "cursor", visibility: "hidden" });
  const line = s("line", { y1: plot.y0, y2: plot.y1 });
  const dot = s("circle", { r: 4 });
  const label = s("text", { y: plot.y0 + 12 });
  group.append(line, dot, label);
  let index = buckets.length - 1;
  const show = (i) => {
    index = Math.max(0, Math.min(buckets.length - 1, i));
    const b = buckets[index];
    const cx = mid(b);
    line.setAttribute("x1", cx);
    line.setAttribute("x2", cx);
    dot.setAttribute("cx", cx);
    dot.setAttribute("cy", y(type?.kind === "boolean" ? (b.last ? 1 : 0) : b.mean));
    const right = cx > (plot.x0 + plot.x1) / 2;
    label.setAttribute("x", right ? cx - 8 : cx + 8);
    label.setAttribute("text-anchor", right ? "end" : "start");
    label.textContent =
      type?.kind === "boolean"
        ? `${dateTime(b.start_ms)}  ${reading(b.last, type.id, type)}`
        : `${dateTime(b.start_ms)}  ${t("chart.mean")} ${number(b.mean, type)}  (${number(b.min, type)}–${number(b.max, type)})`;
    group.setAttribute("visibility", "visible");
  };
  const hide = () => group.setAttribute("visibility", "hidden");
  svg.onpointermove = (event) => {
    const box = svg.getBoundingClientRect();
    const px = ((event.clientX - box.left) / box.width) * svg.viewBox.baseVal.width;
    let best = 0;
    for (let i = 1; i < buckets.length; i++) {
      if (Math.abs(mid(buckets[i]) - px) < Math.abs(mid(buckets[best]) - px)) best = i;
    }
    show(best);
  };
  svg.onpointerleave = hide;
  svg.onblur = hide;
  svg.onfocus = () => show(index);
  svg.onkeydown = (event) => {
    const moves = { ArrowLeft: -1, ArrowRight: 1, Home: -buckets.length, End: buckets.length };
    if (!(event.key in moves)) return;
    event.preventDefault();
    show(index + moves[event.key]);
  };
  svg.setAttribute("tabindex", "0");
  return group;
}
