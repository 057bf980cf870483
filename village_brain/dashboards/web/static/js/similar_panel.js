// The similar items of one work item, with why each matched, and the two actions on them:
// merge the ticked ones as duplicates of this item, or open one work order for them all.
// Any page can show it: renderSimilar(container, itemId, { onChange }).

import { getJSON, postJSON } from "./api.js";
import { may } from "./auth.js";
import { h } from "./dom.js";
import { dateTime } from "./format.js";
import { sensorName, t } from "./i18n.js";
import "./words_hotspots.js";

export function categoryName(code) {
  const key = `cat.${code}`;
  const text = t(key);
  return text === key ? sensorName(code) : text;
}

export function statusName(code) {
  const key = `ws.${code}`;
  const text = t(key);
  return text === key ? code : text;
}

// A work item's page in the queue; an alert without work has none but its history.
export function sightingLink(s) {
  const text = sightingName(s);
  return s.item_id ? h("a", { href: `/work?item=${s.item_id}`, text }) : h("span", { text });
}

export function sightingName(s) {
  if (s.source === "alert" && !s.item_id) return `${t("src.alert")} ${s.device || s.ref}`;
  return s.number ? `#${s.item_id} · ${s.number}` : `#${s.item_id}`;
}

function span(minutes) {
  const m = Math.abs(minutes);
  if (m < 60) return `${Math.round(m)} min`;
  if (m < 48 * 60) return `${Math.round(m / 60)} h`;
  return `${Math.round(m / 1440)} d`;
}

export function why(match) {
  const parts = [
    match.distance_m === null ? t("sim.why.place") : t("sim.why.m", { m: Math.round(match.distance_m) }),
    t(match.minutes < 0 ? "sim.why.earlier" : "sim.why.later", { t: span(match.minutes) }),
    t(`sim.why.${match.category_match}`),
  ];
  return parts.join(" · ");
}

function matchRow(match, acting) {
  const s = match.sighting;
  const box = s.item_id && s.open && acting
    ? h("input", { type: "checkbox", value: s.item_id, "aria-label": sightingName(s) })
    : null;
  return h(
    "li",
    { "data-ref": s.ref, class: `similar-item source-${s.source}` },
    h("label", {}, box,
      h("strong", {}, sightingLink(s)), " ",
      h("span", { text: `${categoryName(s.category)} · ${statusName(s.status)}` })),
    h("div", { class: "why", text: why(match) }),
    h("div", { class: "muted", text: `${s.title} · ${dateTime(s.at_ms)}` }),
  );
}

function ticked(root) {
  return [...root.querySelectorAll("input[type=checkbox]:checked")].map((b) => Number(b.value));
}

export async function renderSimilar(container, itemId, { onChange } = {}) {
  const answer = await getJSON(`/api/v1/work/${itemId}/similar`);
  const acting = may("operator");
  const note = h("p", { class: "status-line", role: "status", "aria-live": "polite" });
  const list = h("ul", { class: "similar-list" }, answer.matches.map((m) => matchRow(m, acting)));
  // A form, so a page that redraws on live news leaves it alone while someone ticks in it.
  const card = h(
    "form",
    { class: "similar", "aria-label": t("hs.similar"), "data-item": itemId, onsubmit: (event) => event.preventDefault() },
    h("h3", { text: t("sim.title", { what: sightingName(answer.item) }) }),
    h("p", { class: "muted", text: t("sim.rule", { m: answer.distance_m, h: answer.window_hours }) }),
    answer.matches.length ? list : h("p", { class: "muted", text: t("sim.empty") }),
    note,
  );
  if (acting && answer.matches.some((m) => m.sighting.item_id && m.sighting.open)) {
    const title = h("input", { id: "sim-order-title", value: `${categoryName(answer.item.category)}: ${answer.item.title}`, "aria-label": t("sim.order.title") });
    const act = async (run) => {
      const ids = ticked(list);
      if (!ids.length) return (note.textContent = t("sim.pick"));
      try {
        const said = await run(ids);
        await renderSimilar(container, itemId, { onChange });
        container.querySelector(".similar .status-line").textContent = said;
        onChange?.();
      } catch (error) {
        note.textContent = t("sim.failed", { error: error.message });
      }
    };
    card.append(h("div", { class: "row-actions" },
      h("button", { type: "button", id: "sim-merge", text: t("sim.merge"), onclick: () => act(async (ids) => {
        const done = await postJSON(`/api/v1/work/${itemId}/merge`, { item_ids: ids });
        return t("sim.merged", { n: done.merged.length, id: done.into.id });
      }) }),
      title,
      h("button", { type: "button", id: "sim-order", class: "quiet", text: t("sim.order"), onclick: () => act(async (ids) => {
        const body = { item_ids: [itemId, ...ids], title: title.value.trim() || answer.item.title, category: answer.item.category };
        const done = await postJSON("/api/v1/similar/work-order", body);
        return t("sim.ordered", { n: done.linked.length, id: done.order.id });
      }) }),
    ));
  }
  container.replaceChildren(card);
  return answer;
}
