// The work queue: villagers' reports and sensor alerts in one list, the item it opens with its
// timeline, and what duty staff do to it. The live feed's `work` and `alert` events refetch the
// list, so a report a villager just sent appears without a reload.

import { currentAccount, may, requireLogin } from "./auth.js";
import { ApiError, getJSON, optionalJSON, postJSON } from "./api.js";
import { $, debounce, h } from "./dom.js";
import { dateTime } from "./format.js";
import { lang, onLanguageChange, t } from "./i18n.js";
import { connectLive } from "./live.js";
import { startShell } from "./shell.js";
import { renderSimilar } from "./similar_panel.js";
import "./words_work.js";

const API = "/api/v1/work";
const state = { items: [], alerts: [], directory: null, chosen: null, detail: null, actions: null, enabled: true };

function word(prefix, value) {
  const key = `${prefix}.${value}`;
  const text = t(key);
  return text === key ? String(value ?? "") : text;
}

function categoryName(code) {
  const found = state.directory?.categories.find((c) => c.code === code);
  if (!found) return code;
  return lang() === "en" ? found.name_en || found.name_zh : found.name_zh;
}

function departmentName(id) {
  const found = state.directory?.departments.find((d) => d.id === id);
  if (!found) return id;
  return lang() === "en" ? found.en || found.zh : found.zh;
}

function personName(id) {
  return state.directory?.people.find((p) => p.id === id)?.name || id;
}

function whoHasIt(item) {
  const who = [item.department && departmentName(item.department), item.assignee && personName(item.assignee)];
  return who.filter(Boolean).join(" / ");
}

function fillSelect(select, options, keepFirst = true) {
  const chosen = select.value;
  const first = keepFirst ? [select.options[0].cloneNode(true)] : [];
  select.replaceChildren(...first, ...options.map(([value, text]) => h("option", { value, text })));
  if ([...select.options].some((o) => o.value === chosen)) select.value = chosen;
}

function renderFilters() {
  if (!state.directory) return;
  fillSelect($("#wf-category"), state.directory.categories.map((c) => [c.code, categoryName(c.code)]));
  fillSelect($("#wf-department"), state.directory.departments.map((d) => [d.id, departmentName(d.id)]));
}

function shown() {
  const mine = $("#wf-mine").checked ? currentAccount()?.name : null;
  const source = $("#wf-source").value;
  return state.items.filter((i) => (!mine || i.claimed_by === mine) && (!source || i.source === source));
}

// --- the list ------------------------------------------------------------------------------

function itemRow(item) {
  const due = item.due_ms ? h("span", { class: "due", text: item.overdue ? `${t("wq.overdue")} · ${t("wq.due", { time: dateTime(item.due_ms) })}` : t("wq.due", { time: dateTime(item.due_ms) }) }) : null;
  const row = h(
    "li",
    {
      class: "alert",
      "data-item": item.id,
      "data-status": item.status,
      "data-overdue": item.overdue ? "yes" : "no",
      "aria-current": state.chosen === item.id ? "true" : null,
    },
    h(
      "span",
      {},
      h("span", { class: `sev sev-${{ urgent: "critical", high: "major", normal: "warning", low: "info" }[item.priority]}`, text: word("wq.p", item.priority) }),
      " ",
      h("button", { type: "button", class: "open-item", text: `#${item.id} ${item.title}`, onclick: () => choose(item.id) }),
    ),
    h(
      "span",
      { class: "muted" },
      [word("wq.s", item.status), categoryName(item.category), word("wq.src", item.source), whoHasIt(item) || t("wq.nobody")].join(" · "),
    ),
    h("span", { class: "muted" }, dateTime(item.created_ms), item.report_number ? ` · ${t("wq.number", { number: item.report_number })}` : "", due ? " · " : "", due),
  );
  return row;
}

function alertRow(alert) {
  const where = [alert.village, alert.device_name || alert.device, alert.place].filter(Boolean).join(" · ");
  return h(
    "li",
    { class: "alert", "data-alert": alert.id },
    h("span", {}, h("span", { class: `sev sev-${alert.severity}`, text: word("severity", alert.severity) }), " ", h("strong", { text: alert.rule_name })),
    h("span", { class: "alert-where", text: where }),
    h("span", { class: "muted", text: `${dateTime(alert.started_ms)} · ${alert.message || ""}` }),
    may("operator") ? h("span", {}, h("button", { type: "button", class: "order", text: t("wq.a.order"), onclick: () => orderFrom(alert) })) : null,
  );
}

function renderList() {
  const list = $("#wq-list");
  if (!state.enabled) {
    list.replaceChildren(h("li", { class: "muted", text: t("wq.disabled") }));
    return;
  }
  const items = shown();
  $("#wq-count").textContent = t("wq.count", { n: items.length });
  list.replaceChildren(...(items.length ? items.map(itemRow) : [h("li", { class: "muted", text: t("wq.none") })]));
  $("#wq-alerts-count").textContent = t("wq.count", { n: state.alerts.length });
  $("#wq-alerts").replaceChildren(
    ...(state.alerts.length ? state.alerts.map(alertRow) : [h("li", { class: "muted", text: t("wq.alerts.none") })]),
  );
}

async function loadList() {
  const params = new URLSearchParams({ status: $("#wf-status").value });
  for (const key of ["category", "department"]) if ($(`#wf-${key}`).value) params.set(key, $(`#wf-${key}`).value);
  const body = await optionalJSON(`${API}?${params}`);
  state.enabled = body !== null;
  state.items = body?.items ?? [];
  state.alerts = body?.alerts ?? [];
  renderList();
}

// --- one item ------------------------------------------------------------------------------

async function choose(id, focus = true) {
  state.chosen = id;
  const url = new URL(location.href);
  url.searchParams.set("item", id);
  history.replaceState(null, "", url);
  renderList();
  await loadDetail();
  if (focus) $("#wq-detail").focus();
}

async function loadDetail() {
  if (!state.chosen) return;
  try {
    state.detail = await getJSON(`${API}/${state.chosen}`);
  } catch (error) {
    $("#wq-detail-body").replaceChildren(h("p", { class: "error", text: t("load.failed", { error: error.message }) }));
    return;
  }
  renderDetail();
  if (!$("#wq-similar input[type=checkbox]:checked")) loadSimilar(state.chosen);
}

function entryText(entry) {
  if (entry.kind === "status") return word("wq.s", entry.text);
  if (entry.kind === "assigned") {
    const [department, person] = entry.text.split("/");
    return [departmentName(department), person && personName(person)].filter(Boolean).join(" / ");
  }
  return entry.text;
}

function timeline(entries) {
  return h(
    "ol",
    { class: "timeline", id: "wq-timeline" },
    entries.map((e) =>
      h(
        "li",
        { "data-kind": e.kind, "data-public": e.public ? "yes" : "no" },
        h("time", { datetime: e.time, text: dateTime(e.at_ms) }),
        " ",
        h("strong", { text: word("wq.ev", e.kind) }),
        ` ${e.by} · `,
        entryText(e),
      ),
    ),
  );
}

function renderDetail() {
  const { item, report, alert, entries, children } = state.detail;
  $("#wq-detail-title").textContent = `#${item.id} ${item.title}`;
  const meta = h(
    "p",
    { class: "meta" },
    h("span", { class: "state", text: word("wq.s", item.status) }),
    h("span", { text: word("wq.p", item.priority) }),
    h("span", { text: categoryName(item.category) }),
    h("span", { text: whoHasIt(item) ? t("wq.who", { who: whoHasIt(item) }) : t("wq.nobody") }),
    item.claimed_by ? h("span", { text: t("wq.claimed", { who: item.claimed_by }) }) : null,
    item.due_ms ? h("span", { class: item.overdue ? "error" : "", text: `${item.overdue ? `${t("wq.overdue")} · ` : ""}${t("wq.due", { time: dateTime(item.due_ms) })}` }) : null,
    item.report_number ? h("span", { text: t("wq.number", { number: item.report_number }) }) : null,
  );
  const parts = [meta];
  if (report) {
    parts.push(h("p", { class: "said", text: report.description }));
    if (report.place) parts.push(h("p", { text: t("wq.place", { place: report.place }) }));
    parts.push(h("p", { class: "muted", text: report.name === null ? t("wq.reporter.hidden") : t("wq.reporter", { name: report.name || "—", phone: report.phone || "" }) }));
    if (report.photos.length) parts.push(h("div", { class: "photos" }, report.photos.map((src) => h("a", { href: src }, h("img", { src, alt: "", loading: "lazy" })))));
  }
  if (item.device) parts.push(h("p", {}, t("wq.device"), h("a", { href: `/devices/${encodeURIComponent(item.device)}`, text: item.device })));
  if (alert) parts.push(h("p", { class: "muted" }, h("span", { class: `sev sev-${alert.severity}`, text: word("severity", alert.severity) }), ` ${alert.rule_name} · ${alert.message}`));
  if (item.parent_id) parts.push(h("p", {}, h("button", { type: "button", class: "link", text: t("wq.parent", { id: item.parent_id }), onclick: () => choose(item.parent_id) })));
  if (may("operator")) parts.push(keptActions(item));
  parts.push(h("h3", { text: t("wq.timeline") }), timeline(entries), h("p", { class: "muted", text: t("wq.public") }));
  if (children.length) {
    parts.push(h("h3", { text: t("wq.children") }), h("ul", { class: "alert-list work-list" }, children.map(itemRow)));
  }
  // The same item's similar items stay the same elements, so what someone ticks there
  // survives a live refresh of the rest.
  const kept = $("#wq-similar");
  parts.push(kept?.dataset.item === String(item.id)
    ? kept
    : h("section", { id: "wq-similar", hidden: true, "data-item": item.id }, h("h3", { text: t("wq.similar") }), h("ul", { class: "alert-list" })));
  $("#wq-detail-body").replaceChildren(...parts);
}

// The similar items, why each matched, and merging them or one work order for them all
// (similar_panel.js); without the analysis API the section stays hidden.
async function loadSimilar(id) {
  const section = $("#wq-similar");
  if (!section || state.chosen !== id) return;
  try {
    await renderSimilar(section, id, { onChange: () => choose(id, false) });
    section.hidden = false;
  } catch {
    section.hidden = true;
  }
}

function select(id, options, chosen = "") {
  const el = h("select", { id }, options.map(([value, text]) => h("option", { value, text })));
  el.value = chosen;
  return el;
}

function form(id, submit, ...fields) {
  return h("form", { id, onsubmit: (event) => { event.preventDefault(); submit(event.target); } }, ...fields);
}

// The forms stay the same elements while the item keeps its status, so a live refresh never
// throws away what someone is choosing or typing.
function keptActions(item) {
  const key = `${item.id}:${item.status}:${lang()}`;
  if (state.actions?.dataset.key !== key) {
    state.actions = actions(item);
    state.actions.dataset.key = key;
  }
  return state.actions;
}

function actions(item) {
  const dir = state.directory;
  const open = ["new", "assigned", "in_progress"].includes(item.status);
  const box = h("div", { class: "work-actions" });
  if (!open) {
    box.append(form("wa-reopen", (f) => act("reopen", { reason: f.querySelector("input").value }),
      h("input", { type: "text", required: true, "aria-label": t("wq.a.reopen.reason"), placeholder: t("wq.a.reopen.reason") }),
      h("button", { type: "submit", text: t("wq.a.reopen") })));
    return box;
  }
  box.append(
    h("div", {}, h("button", { type: "button", id: "wa-claim", text: t("wq.a.claim"), onclick: () => act("claim") }), " ",
      item.status === "assigned" ? h("button", { type: "button", id: "wa-start", text: t("wq.a.start"), onclick: () => act("start") }) : null),
    form("wa-assign", (f) => act("assign", { department: f.querySelector("#wa-department").value, person: f.querySelector("#wa-person").value }),
      h("label", {}, t("wq.a.department"), " ", select("wa-department", [["", t("wq.a.any")], ...dir.departments.map((d) => [d.id, departmentName(d.id)])], item.department)),
      h("label", {}, t("wq.a.person"), " ", select("wa-person", [["", t("wq.a.any")], ...dir.people.map((p) => [p.id, `${p.name} (${departmentName(p.department)})`])], item.assignee)),
      h("button", { type: "submit", text: t("wq.a.assign") })),
    form("wa-triage", (f) => act("triage", { category: f.querySelector("#wa-category").value, priority: f.querySelector("#wa-priority").value }),
      h("label", {}, t("wq.a.category"), " ", select("wa-category", dir.categories.map((c) => [c.code, categoryName(c.code)]), item.category)),
      h("label", {}, t("wq.a.priority"), " ", select("wa-priority", dir.priorities.map((p) => [p, word("wq.p", p)]), item.priority)),
      h("button", { type: "submit", text: t("wq.a.triage") })),
    form("wa-reply", (f) => act("replies", { text: f.querySelector("textarea").value }),
      h("textarea", { required: true, "aria-label": t("wq.a.reply"), placeholder: t("wq.a.reply.hint") }),
      h("button", { type: "submit", text: t("wq.a.reply") })),
    form("wa-note", (f) => act("notes", { text: f.querySelector("textarea").value }),
      h("textarea", { required: true, "aria-label": t("wq.a.note"), placeholder: t("wq.a.note.hint") }),
      h("button", { type: "submit", text: t("wq.a.note") })),
    form("wa-close", (f) => act("close", { status: f.querySelector("select").value, reason: f.querySelector("input").value }),
      select("wa-close-status", ["resolved", "rejected", "duplicate"].map((s) => [s, word("wq.s", s)]), "resolved"),
      h("input", { type: "text", required: true, "aria-label": t("wq.a.reason"), placeholder: t("wq.a.reason") }),
      h("button", { type: "submit", text: t("wq.a.close") })),
    // The one merge route closes the items it is given as duplicates of the item in its path.
    form("wa-duplicate", (f) => act("merge", { item_ids: [state.chosen] }, Number(f.querySelector("input").value)),
      h("label", {}, t("wq.a.duplicate"), h("input", { type: "number", min: 1, required: true, size: 5 })),
      h("button", { type: "submit", text: "OK" })),
    form("wa-link", (f) => act("link", { parent: Number(f.querySelector("input").value) }),
      h("label", {}, t("wq.a.link"), h("input", { type: "number", min: 1, required: true, size: 5 })),
      h("button", { type: "submit", text: "OK" })),
  );
  return box;
}

function say(text, error = false) {
  const line = $("#wq-status");
  line.textContent = text;
  line.classList.toggle("error", error);
}

async function act(action, body = {}, itemId = state.chosen) {
  try {
    await postJSON(`${API}/${itemId}/${action}`, body);
    say(t("wq.done"));
    state.actions = null;
  } catch (error) {
    say(t("wq.refused", { error: error instanceof ApiError ? error.message : String(error) }), true);
    return;
  }
  await Promise.all([loadList(), loadDetail()]);
}

async function orderFrom(alert) {
  try {
    const item = await postJSON(`${API}/from-alert/${alert.id}`, {});
    say(t("wq.made", { id: item.id }));
    await loadList();
    await choose(item.id);
  } catch (error) {
    say(t("wq.refused", { error: error.message }), true);
  }
}

// --- start ---------------------------------------------------------------------------------

startShell();
await requireLogin();
try {
  state.directory = await optionalJSON(`${API}/directory`);
  renderFilters();
  await loadList();
  const asked = Number(new URLSearchParams(location.search).get("item"));
  if (asked) await choose(asked, false);
} catch (error) {
  say(t("load.failed", { error: error.message }), true);
}
for (const id of ["#wf-status", "#wf-category", "#wf-department"]) $(id).addEventListener("change", () => loadList());
for (const id of ["#wf-source", "#wf-mine"]) $(id).addEventListener("change", renderList);
$("#wq-filters").addEventListener("submit", (event) => event.preventDefault());
const refresh = debounce(async () => {
  await loadList();
  if (state.chosen) await loadDetail();
}, 300);
connectLive({
  work: (event) => {
    if (event.change === "new") say(t("wq.new.arrived", { id: event.item.id, title: event.item.title }));
    refresh();
  },
  alert: refresh,
  resync: refresh,
});
onLanguageChange(() => {
  renderFilters();
  renderList();
  if (state.detail) renderDetail();
});
