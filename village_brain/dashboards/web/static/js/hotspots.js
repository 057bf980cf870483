// Hotspots: reports and alerts counted by place × category × week, on the village plan and in
// a table; the items behind a count, each with its similar items; the counts as CSV.
// The method (grid cells, named places, ISO weeks) is the server's, in docs/reports-method.md.

import { getJSON } from "./api.js";
import { requireLogin } from "./auth.js";
import { $, h, s } from "./dom.js";
import { dateTime } from "./format.js";
import { lang, onLanguageChange, t } from "./i18n.js";
import { planFrame } from "./plan.js";
import { startShell } from "./shell.js";
import { categoryName, renderSimilar, sightingLink, statusName } from "./similar_panel.js";

const state = { answer: null, categories: new Set(), chosen: null };

function query(extra = {}) {
  const params = new URLSearchParams({ weeks: $("#hs-weeks").value, ...extra });
  if ($("#hs-category").value) params.set("category", $("#hs-category").value);
  return params.toString();
}

function placeName(cell) {
  if (cell.place === "none") return t("hs.place.none");
  return cell.place.startsWith("cell:") ? t("hs.place.cell", { at: cell.label }) : cell.label;
}

// One row per place and category, one column per week.
function rows(answer) {
  const byRow = new Map();
  for (const cell of answer.cells) {
    const key = `${cell.place}|${cell.category}`;
    if (!byRow.has(key)) byRow.set(key, { key, place: cell.place, name: placeName(cell), category: cell.category, weeks: new Map(), total: 0 });
    const row = byRow.get(key);
    row.weeks.set(cell.week, cell);
    row.total += cell.count;
  }
  return [...byRow.values()].sort((a, b) => b.total - a.total || a.name.localeCompare(b.name));
}

function renderTable(answer) {
  const table = $("#hs-table");
  const found = rows(answer);
  if (!found.length) {
    table.replaceChildren(h("caption", { text: t("hs.empty") }));
    return;
  }
  const head = h("tr", {},
    h("th", { scope: "col", text: t("hs.col.place") }),
    h("th", { scope: "col", text: t("hs.col.category") }),
    answer.weeks.map((w) => h("th", { scope: "col", text: w.slice(5) })),
    h("th", { scope: "col", text: t("hs.col.total") }));
  const body = found.map((row) => h("tr", { "data-row": row.key },
    h("th", { scope: "row", text: row.name }),
    h("td", { text: categoryName(row.category) }),
    answer.weeks.map((week) => {
      const cell = row.weeks.get(week);
      if (!cell) return h("td", { class: "zero", text: "" });
      return h("td", {}, h("button", {
        type: "button", class: "count-button", "data-cell": `${cell.place}|${cell.category}|${week}`,
        "aria-label": t("hs.cell", { place: row.name, category: categoryName(row.category), week }),
        text: cell.count, onclick: () => showItems([cell]),
      }));
    }),
    h("td", { class: "total", text: row.total })));
  table.replaceChildren(h("thead", {}, head), h("tbody", {}, body));
  // On a phone the latest weeks are off to the right: start there, older ones a swipe away.
  table.parentElement.scrollLeft = table.parentElement.scrollWidth;
}

// Each place once on the plan, its dot as large as its count over the weeks shown.
function renderPlan(answer) {
  const svg = $("#hs-plan");
  const places = new Map();
  for (const cell of answer.cells) {
    if (cell.lat === null || cell.lon === null) continue;
    if (!places.has(cell.place)) places.set(cell.place, { id: cell.place, name: placeName(cell), location: { lat: cell.lat, lon: cell.lon }, cells: [] });
    places.get(cell.place).cells.push(cell);
  }
  const unplaced = answer.cells.filter((c) => c.lat === null).reduce((n, c) => n + c.count, 0);
  $("#hs-unplaced").textContent = unplaced ? t("hs.unplaced", { n: unplaced }) : "";
  const width = Math.max(280, svg.parentElement.clientWidth || 600);
  svg.replaceChildren();
  if (!places.size) {
    svg.setAttribute("viewBox", `0 0 ${width} 80`);
    svg.append(s("text", { x: width / 2, y: 40, "text-anchor": "middle", class: "plan-note" }, t("hs.empty")));
    return;
  }
  const frame = planFrame(width, [...places.values()], 2e-5);
  svg.setAttribute("viewBox", `0 0 ${width} ${frame.height}`);
  svg.style.height = `${frame.height}px`;
  svg.append(s("rect", { class: "land", x: 0, y: 0, width, height: frame.height }));
  const layer = s("g", { class: "hotspot-marks" });
  for (const place of places.values()) {
    const n = place.cells.reduce((a, c) => a + c.count, 0);
    const at = frame.screen(frame.world.get(place.id));
    const title = t("hs.place.count", { place: place.name, n });
    layer.append(s("a", {
      href: "#hs-items-card", class: "hotspot-mark", "data-place": place.id, "aria-label": title,
      transform: `translate(${at.x.toFixed(1)},${at.y.toFixed(1)})`,
      onclick: (event) => { event.preventDefault(); showItems(place.cells); },
    }, s("title", {}, title), s("circle", { r: (7 + 4 * Math.sqrt(n)).toFixed(1) }),
      s("text", { "text-anchor": "middle", dy: "0.35em" }, String(n))));
  }
  svg.append(layer);
}

function showItems(cells) {
  state.chosen = cells;
  const items = cells.flatMap((c) => c.items);
  const first = cells[0];
  $("#hs-items-hint").hidden = true;
  $("#hs-items-what").textContent = cells.length === 1
    ? t("hs.cell", { place: placeName(first), category: categoryName(first.category), week: first.week })
    : t("hs.place.count", { place: placeName(first), n: items.length });
  $("#hs-similar").replaceChildren();
  $("#hs-items").replaceChildren(...items.map((item) => h("li", { "data-ref": item.ref },
    h("strong", {}, sightingLink(item)), " ",
    h("span", { text: `${categoryName(item.category)} · ${statusName(item.status)} · ${dateTime(item.at_ms)}` }),
    h("div", { class: "muted", text: item.title }),
    item.item_id ? h("button", { type: "button", class: "quiet similar-button", text: t("hs.similar"),
      onclick: () => renderSimilar($("#hs-similar"), item.item_id, { onChange: load }) }) : null)));
}

function fillCategories(answer) {
  for (const cell of answer.cells) state.categories.add(cell.category);
  const select = $("#hs-category");
  const chosen = select.value;
  select.replaceChildren(h("option", { value: "", text: t("filter.all") }),
    ...[...state.categories].sort().map((c) => h("option", { value: c, text: categoryName(c) })));
  select.value = chosen;
}

async function load() {
  const status = $("#hs-status");
  try {
    const answer = await getJSON(`/api/v1/hotspots?${query()}`);
    state.answer = answer;
    if (!$("#hs-category").value) fillCategories(answer);
    const n = answer.cells.reduce((a, c) => a + c.count, 0);
    const places = new Set(answer.cells.map((c) => c.place)).size;
    status.textContent = n ? t("hs.loaded", { n, places, weeks: answer.weeks.length }) : t("hs.empty");
    $("#hs-csv").href = `/api/v1/hotspots/csv?${query({ lang: lang() })}`;
    renderPlan(answer);
    renderTable(answer);
  } catch (error) {
    status.textContent = t("load.failed", { error: error.message });
  }
}

async function start() {
  startShell();
  await requireLogin();
  $("#hs-weeks").addEventListener("change", load);
  $("#hs-category").addEventListener("change", load);
  onLanguageChange(() => {
    if (!state.answer) return;
    fillCategories(state.answer);
    renderPlan(state.answer);
    renderTable(state.answer);
    $("#hs-csv").href = `/api/v1/hotspots/csv?${query({ lang: lang() })}`;
  });
  await load();
}

start();
