// The village plan: devices placed by latitude and longitude, drawn as SVG with no map tiles
// unless a tile URL is configured. The river is drawn through the devices that sit in it.

import { h, s } from "./dom.js";
import { STATE_SHAPES, displayName } from "./shell.js";
import { kindName, t } from "./i18n.js";

const WATER_SENSORS = new Set(["water_level", "water_ph", "turbidity", "dissolved_oxygen"]);
const TILE = 256;
const EARTH_CIRCUMFERENCE_M = 40_075_016.686;

// Web Mercator at zoom 0: the whole world is one 256-unit tile, so tiles line up when shown.
function project(lat, lon) {
  const sin = Math.sin((lat * Math.PI) / 180);
  return {
    x: ((lon + 180) / 360) * TILE,
    y: (0.5 - Math.log((1 + sin) / (1 - sin)) / (4 * Math.PI)) * TILE,
  };
}

export function placed(devices) {
  return devices.filter((d) => Number.isFinite(d.location?.lat) && Number.isFinite(d.location?.lon));
}

export function isInWater(device) {
  return device.sensors.some((sensor) => WATER_SENSORS.has(sensor));
}

// Order points along their main direction, so a line through them follows the valley.
function alongMainAxis(points) {
  const n = points.length;
  const mx = points.reduce((a, p) => a + p.x, 0) / n;
  const my = points.reduce((a, p) => a + p.y, 0) / n;
  let sxx = 0;
  let sxy = 0;
  let syy = 0;
  for (const p of points) {
    sxx += (p.x - mx) ** 2;
    sxy += (p.x - mx) * (p.y - my);
    syy += (p.y - my) ** 2;
  }
  const angle = 0.5 * Math.atan2(2 * sxy, sxx - syy);
  const ux = Math.cos(angle);
  const uy = Math.sin(angle);
  const key = (p) => (p.x - mx) * ux + (p.y - my) * uy;
  return { sorted: [...points].sort((a, b) => key(a) - key(b)), ux, uy, key };
}

// Devices on opposite banks at nearly the same spot would tie the curve in a knot;
// each cluster becomes one point in the middle of the stream.
function mergeNeighbours(sorted, key, gap) {
  const out = [];
  let cluster = [];
  const flush = () => {
    if (!cluster.length) return;
    out.push({
      x: cluster.reduce((a, p) => a + p.x, 0) / cluster.length,
      y: cluster.reduce((a, p) => a + p.y, 0) / cluster.length,
    });
    cluster = [];
  };
  for (const p of sorted) {
    if (cluster.length && key(p) - key(cluster[0]) > gap) flush();
    cluster.push(p);
  }
  flush();
  return out;
}

// A smooth curve through the points (Catmull-Rom turned into cubic Béziers).
function smoothPath(points) {
  let d = `M${points[0].x.toFixed(1)},${points[0].y.toFixed(1)}`;
  for (let i = 0; i < points.length - 1; i++) {
    const p0 = points[Math.max(0, i - 1)];
    const p1 = points[i];
    const p2 = points[i + 1];
    const p3 = points[Math.min(points.length - 1, i + 2)];
    const c1 = { x: p1.x + (p2.x - p0.x) / 6, y: p1.y + (p2.y - p0.y) / 6 };
    const c2 = { x: p2.x - (p3.x - p1.x) / 6, y: p2.y - (p3.y - p1.y) / 6 };
    d += ` C${c1.x.toFixed(1)},${c1.y.toFixed(1)} ${c2.x.toFixed(1)},${c2.y.toFixed(1)} ${p2.x.toFixed(1)},${p2.y.toFixed(1)}`;
  }
  return d;
}

function niceMetres(max) {
  const steps = [10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000];
  return steps.filter((m) => m <= max).pop() || steps[0];
}

export function marker(state) {
  const shape = STATE_SHAPES[state];
  return s(shape.tag, { ...shape.attrs, class: `mark mark-${state}` });
}

export function legendIcon(state) {
  return s("svg", { viewBox: "-9 -9 18 18", width: 18, height: 18, "aria-hidden": "true" }, marker(state));
}

// World (Mercator) point back to latitude and longitude.
function unproject(x, y) {
  return {
    lat: (Math.atan(Math.sinh(Math.PI * (1 - (2 * y) / TILE))) * 180) / Math.PI,
    lon: (x / TILE) * 360 - 180,
  };
}

// How the placed devices fit into `width`: their bounding box, at least `minSpan` world
// units across so that one lone device does not zoom the plan down to centimetres.
export function planFrame(width, all, minSpan = 1e-6) {
  const world = new Map(all.map((d) => [d.id, project(d.location.lat, d.location.lon)]));
  const xs = [...world.values()].map((p) => p.x);
  const ys = [...world.values()].map((p) => p.y);
  const span = { x0: Math.min(...xs), x1: Math.max(...xs), y0: Math.min(...ys), y1: Math.max(...ys) };
  const spanW = Math.max(span.x1 - span.x0, minSpan);
  const spanH = Math.max(span.y1 - span.y0, minSpan);
  const pad = 36;
  const height = Math.round(Math.min(Math.max((width * spanH) / spanW + 2 * pad, width * 0.5), width * 0.9));
  const scale = Math.min((width - 2 * pad) / spanW, (height - 2 * pad) / spanH);
  const cx = (span.x0 + span.x1) / 2;
  const cy = (span.y0 + span.y1) / 2;
  const screen = (p) => ({ x: width / 2 + (p.x - cx) * scale, y: height / 2 + (p.y - cy) * scale });
  return {
    world,
    span,
    width,
    height,
    scale,
    cx,
    cy,
    screen,
    at: (lat, lon) => screen(project(lat, lon)),
    latLon: (x, y) => unproject(cx + (x - width / 2) / scale, cy + (y - height / 2) / scale),
  };
}

// Draws the plan into `svg`. `items` are {device, state, title}; all devices fix the extent,
// so filtering does not move the map under the operator's eyes. Returns the frame drawn in.
export function drawPlan(svg, allDevices, items, tileUrl, minSpan = 1e-6) {
  const width = Math.max(280, svg.parentElement.clientWidth || 600);
  const all = placed(allDevices);
  svg.replaceChildren();
  if (!all.length) {
    svg.setAttribute("viewBox", `0 0 ${width} 120`);
    svg.append(s("text", { x: width / 2, y: 60, "text-anchor": "middle", class: "plan-note" }, t("plan.empty")));
    return null;
  }
  const frame = planFrame(width, all, minSpan);
  const { world, span, height, scale, cx, cy, screen } = frame;
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.style.height = `${height}px`;

  svg.append(s("rect", { class: "land", x: 0, y: 0, width, height }));
  if (tileUrl) svg.append(tiles(tileUrl, scale, cx, cy, width, height));
  svg.append(river(all.filter(isInWater).map((d) => screen(world.get(d.id))), width, height));
  svg.append(villageLabels(all, (d) => screen(world.get(d.id))));
  svg.append(scaleBar(scale, (span.y0 + span.y1) / 2, height));

  const layer = s("g", { class: "devices" });
  for (const item of items) {
    const p = world.get(item.device.id);
    if (!p) continue;
    const at = screen(p);
    const link = s(
      "a",
      {
        href: `/devices/${encodeURIComponent(item.device.id)}`,
        class: `device-mark state-${item.state}`,
        "data-device": item.device.id,
        "aria-label": item.title,
        transform: `translate(${at.x.toFixed(1)},${at.y.toFixed(1)})`,
      },
      s("title", {}, item.title),
      s("circle", { r: 14, class: "hit" }),
      marker(item.state),
    );
    layer.append(link);
  }
  svg.append(layer);
  return frame;
}

function river(points, width, height) {
  const group = s("g", { class: "river", "aria-hidden": "true" });
  if (points.length < 2) return group;
  const axis = alongMainAxis(points);
  const { ux, uy } = axis;
  const sorted = mergeNeighbours(axis.sorted, axis.key, 60);
  // Carry the river on past the outermost devices to the edges of the plan.
  const reach = Math.hypot(width, height);
  const first = sorted[0];
  const last = sorted[sorted.length - 1];
  const ends = [
    { x: first.x - ux * reach, y: first.y - uy * reach },
    ...sorted,
    { x: last.x + ux * reach, y: last.y + uy * reach },
  ];
  const d = smoothPath(ends);
  group.append(s("path", { d, class: "river-bank" }), s("path", { d, class: "river-water" }));
  const mid = sorted[Math.floor(sorted.length / 2)];
  group.append(
    s("text", { x: mid.x + 10, y: mid.y + 26, class: "river-label" }, t("plan.river")),
  );
  return group;
}

function villageLabels(devices, at) {
  const group = s("g", { class: "villages", "aria-hidden": "true" });
  const byVillage = new Map();
  for (const d of devices) {
    if (!byVillage.has(d.village)) byVillage.set(d.village, []);
    byVillage.get(d.village).push(at(d));
  }
  for (const [village, points] of byVillage) {
    const x = points.reduce((a, p) => a + p.x, 0) / points.length;
    const top = Math.min(...points.map((p) => p.y));
    group.append(s("text", { x, y: Math.max(18, top - 16), "text-anchor": "middle", class: "village-label" }, village));
  }
  return group;
}

function scaleBar(scale, worldY, height) {
  // Metres per world unit at this latitude (Mercator stretches with 1/cos(lat)).
  const lat = (Math.atan(Math.sinh(Math.PI * (1 - (2 * worldY) / TILE))) * 180) / Math.PI;
  const metresPerPixel = (EARTH_CIRCUMFERENCE_M * Math.cos((lat * Math.PI) / 180)) / TILE / scale;
  const metres = niceMetres(120 * metresPerPixel);
  const length = metres / metresPerPixel;
  const y = height - 14;
  return s(
    "g",
    { class: "scale", "aria-hidden": "true" },
    s("path", { d: `M12,${y - 5} V${y} H${12 + length} V${y - 5}` }),
    s("text", { x: 12 + length + 6, y: y + 1 }, t("plan.scale", { n: metres })),
  );
}

function tiles(url, scale, cx, cy, width, height) {
  const zoom = Math.max(0, Math.min(19, Math.round(Math.log2(scale))));
  const size = (TILE * scale) / 2 ** zoom;
  const group = s("g", { class: "tiles", "aria-hidden": "true" });
  const left = cx - width / 2 / scale;
  const top = cy - height / 2 / scale;
  const tile0 = { x: Math.floor((left * 2 ** zoom) / TILE), y: Math.floor((top * 2 ** zoom) / TILE) };
  const count = { x: Math.ceil(width / size) + 1, y: Math.ceil(height / size) + 1 };
  for (let i = 0; i < count.x; i++) {
    for (let j = 0; j < count.y; j++) {
      const tx = tile0.x + i;
      const ty = tile0.y + j;
      const href = url.replace("{z}", zoom).replace("{x}", tx).replace("{y}", ty);
      group.append(
        s("image", {
          href,
          x: (((tx * TILE) / 2 ** zoom - cx) * scale + width / 2).toFixed(1),
          y: (((ty * TILE) / 2 ** zoom - cy) * scale + height / 2).toFixed(1),
          width: size.toFixed(1),
          height: size.toFixed(1),
        }),
      );
    }
  }
  return group;
}

export function deviceTitle(device, state, summary) {
  const name = displayName(device);
  const parts = [name, kindName(device.kind), t(`state.${state}`), summary];
  return parts.filter(Boolean).join(" · ");
}

export function unplacedNote(devices) {
  const missing = devices.length - placed(devices).length;
  return missing ? h("p", { class: "muted", text: t("plan.unplaced", { n: missing }) }) : null;
}
