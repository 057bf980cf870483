// Notification channels (webhooks and chat robots), for admins: add, edit, remove, send a
// test and see the receiver's answer, whom each channel @-mentions per severity, and each
// channel's latest deliveries with a re-send button for the failed ones. A channel may be let
// call the village LAN (a private address) by ticking a box, with a warning.

import { may, requireLogin } from "./auth.js";
import { listOf, optionalJSON, postJSON, sendJSON } from "./api.js";
import { $, h } from "./dom.js";
import { dateTime } from "./format.js";
import { onLanguageChange, t } from "./i18n.js";
import { startShell } from "./shell.js";

const KINDS = ["standard", "dingtalk", "wecom", "feishu"];
const SEVERITIES = ["critical", "major", "warning", "minor", "info"];
const DELIVERIES_SHOWN = 5;
const state = { channels: [], deliveries: [], editing: null, answers: {} };

function say(text, isError = false) {
  const line = $("#mc-status");
  line.textContent = text;
  line.classList.toggle("error", isError);
}

const names = (channel) => channel.name || channel.id;
const splitList = (text) => text.split(/[,，、\s]+/).filter(Boolean);

function deliveryLine(d) {
  const when = d.delivered || d.last_attempt || d.created;
  const answer = d.last_status ? `HTTP ${d.last_status}` : d.last_error || "";
  return h(
    "li",
    { "data-delivery": d.id, "data-state": d.state },
    h("span", { class: `delivery-state state-${d.state}`, text: t(`mc.state.${d.state}`) }),
    ` ${when ? dateTime(Date.parse(when)) : ""} · ${d.event_type || ""} · ${t("mc.attempts", { n: d.attempts ?? 0 })}`,
    answer ? ` · ${answer}` : "",
    d.state === "failed" ? h("button", { type: "button", class: "quiet resend", text: t("mc.resend"), onclick: () => resend(d) }) : null,
  );
}

async function resend(delivery) {
  try {
    await postJSON(`/api/v1/deliveries/${delivery.id}/resend`, {});
    say(t("mc.resent", { id: delivery.id }));
  } catch (error) {
    say(t("md.failed", { error: error.message }), true);
  }
  await loadDeliveries().catch(() => {});
}

// A JSON answer laid out, with its \u escapes as the characters they stand for.
function readable(text) {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}

// What the receiver said to the test message: its status and its answer, or why none came.
function answerBox(channel) {
  const answer = state.answers[channel.id];
  if (!answer) return null;
  const head = answer.ok ? t("mc.test.ok") : t("mc.test.failed");
  const status = answer.status ? `HTTP ${answer.status}` : "";
  return h(
    "div",
    { class: `test-answer ${answer.ok ? "ok" : "error"}`, "data-ok": String(answer.ok), role: "status" },
    h("strong", { text: [head, status].filter(Boolean).join(" · ") }),
    answer.error ? h("p", { class: "error", text: answer.error }) : null,
    answer.answer ? h("pre", { class: "answer-body", text: readable(answer.answer) }) : null,
  );
}

async function sendTest(channel) {
  try {
    state.answers[channel.id] = await postJSON(`/api/v1/webhooks/${encodeURIComponent(channel.id)}/test`, {});
    const answer = state.answers[channel.id];
    say(t("mc.test.sent", { name: names(channel), answer: answer.status ? `HTTP ${answer.status}` : answer.error || "" }), !answer.ok);
  } catch (error) {
    say(t("md.failed", { error: error.message }), true);
  }
  await loadDeliveries().catch(() => render());
}

async function remove(channel) {
  if (!confirm(t("mc.remove.confirm", { name: channel.name || channel.url }))) return;
  try {
    await sendJSON("DELETE", `/api/v1/webhooks/${encodeURIComponent(channel.id)}`);
    say(t("mc.removed", { name: names(channel) }));
    await load();
  } catch (error) {
    say(t("md.failed", { error: error.message }), true);
  }
}

function mentionText(m) {
  const who = [...(m.mobiles || []), ...(m.user_ids || [])];
  if (m.at_all) who.push(t("mc.mention.all"));
  const when = m.severities?.length ? m.severities.map((s) => t(`severity.${s}`)).join("、") : t("mc.all.severities");
  return `${when}: @${who.join(" @")}`;
}

function render() {
  const list = $("#channel-list");
  if (!state.channels.length) {
    list.replaceChildren(h("li", { class: "muted", text: t("mc.none") }));
    return;
  }
  list.replaceChildren(
    ...state.channels.map((c) => {
      const mine = state.deliveries.filter((d) => d.webhook_id === c.id).slice(0, DELIVERIES_SHOWN);
      const scope = [
        c.severities?.length ? c.severities.map((s) => t(`severity.${s}`)).join("、") : t("mc.all.severities"),
        c.villages?.length ? c.villages.join("、") : t("mc.all.villages"),
      ].join(" · ");
      return h(
        "li",
        { "data-channel": c.id },
        h(
          "span",
          {},
          h("strong", { text: names(c) }),
          ` · ${t(`mc.kind.${c.kind}`)}`,
          c.enabled === false ? ` · ${t("mr.disabled")}` : "",
          c.allow_private ? h("span", { class: "private-flag", text: ` · ${t("mc.private.on")}` }) : null,
        ),
        h("span", { class: "muted channel-url", text: c.url }),
        h("span", { class: "muted", text: scope }),
        (c.mentions || []).length ? h("span", { class: "muted mentions-line", text: c.mentions.map(mentionText).join("；") }) : null,
        h(
          "span",
          { class: "row-actions" },
          h("button", { type: "button", class: "test", text: t("mc.test"), onclick: () => sendTest(c) }),
          h("button", { type: "button", class: "quiet edit", text: t("md.edit"), onclick: () => openEditor(c) }),
          h("button", { type: "button", class: "danger remove", text: t("mu.remove"), onclick: () => remove(c) }),
        ),
        answerBox(c),
        h("h3", { text: t("mc.deliveries") }),
        mine.length ? h("ul", { class: "deliveries" }, mine.map(deliveryLine)) : h("p", { class: "muted", text: t("mc.deliveries.none") }),
      );
    }),
  );
}

function severityBoxes(name, ticked) {
  return SEVERITIES.map((s) =>
    h("label", { class: "check" }, h("input", { type: "checkbox", name, value: s, checked: ticked.has(s) }), ` ${t(`severity.${s}`)}`),
  );
}

function mentionRow(m = {}) {
  const row = h(
    "div",
    { class: "mention-row" },
    h("div", { class: "coords" }, ...severityBoxes("m-severity", new Set(m.severities || []))),
    h("label", {}, h("span", { text: t("mc.mention.mobiles") }), h("input", { name: "m-mobiles", autocomplete: "off", inputmode: "tel", value: (m.mobiles || []).join(", ") })),
    h("label", {}, h("span", { text: t("mc.mention.users") }), h("input", { name: "m-users", autocomplete: "off", value: (m.user_ids || []).join(", ") })),
    h("label", { class: "check" }, h("input", { type: "checkbox", name: "m-all", checked: Boolean(m.at_all) }), ` ${t("mc.mention.all")}`),
    h("button", { type: "button", class: "quiet remove-mention", text: t("mu.remove"), onclick: () => row.remove() }),
  );
  return row;
}

function mentionsOf(form) {
  return [...form.querySelectorAll(".mention-row")]
    .map((row) => ({
      severities: [...row.querySelectorAll("input[name=m-severity]:checked")].map((i) => i.value),
      mobiles: splitList(row.querySelector("input[name=m-mobiles]").value),
      user_ids: splitList(row.querySelector("input[name=m-users]").value),
      at_all: row.querySelector("input[name=m-all]").checked,
    }))
    .filter((m) => m.mobiles.length || m.user_ids.length || m.at_all);
}

function fillForm() {
  const kind = $("#channel-kind");
  const chosen = kind.value || "standard";
  kind.replaceChildren(...KINDS.map((k) => h("option", { value: k, text: t(`mc.kind.${k}`) })));
  kind.value = chosen;
  const box = $("#channel-severities");
  const ticked = new Set([...box.querySelectorAll("input:checked")].map((i) => i.value));
  box.replaceChildren(h("legend", { text: t("mc.f.severities") }), ...severityBoxes("severity", ticked));
}

function showPrivateWarning() {
  $("#private-warning").hidden = !$("#allow-private").checked;
}

function openEditor(channel) {
  state.editing = channel;
  const form = $("#channel-form");
  form.reset();
  $("#channel-error").textContent = "";
  form.elements.name.value = channel.name || "";
  form.elements.kind.value = channel.kind;
  // The stored address is shown with its key hidden: left as it is, it is not sent back.
  form.elements.url.value = channel.url;
  form.elements.villages.value = (channel.villages || []).join(", ");
  form.elements.enabled.checked = channel.enabled !== false;
  form.elements.allow_private.checked = Boolean(channel.allow_private);
  const severities = new Set(channel.severities || []);
  for (const input of form.querySelectorAll("input[name=severity]")) input.checked = severities.has(input.value);
  $("#mention-rows").replaceChildren(...(channel.mentions || []).map(mentionRow));
  $("#mc-add-title").textContent = t("mc.edit", { name: names(channel) });
  $("#channel-submit").textContent = t("md.save");
  $("#cancel-channel").hidden = false;
  showPrivateWarning();
  $("#channel-form").scrollIntoView({ block: "start" });
}

function closeEditor() {
  state.editing = null;
  $("#channel-form").reset();
  $("#mention-rows").replaceChildren();
  $("#mc-add-title").textContent = t("mc.add");
  $("#channel-submit").textContent = t("mc.add");
  $("#cancel-channel").hidden = true;
  showPrivateWarning();
}

function formBody(form) {
  const body = {
    name: form.elements.name.value.trim(),
    kind: form.elements.kind.value,
    url: form.elements.url.value.trim(),
    severities: [...form.querySelectorAll("input[name=severity]:checked")].map((i) => i.value),
    villages: splitList(form.elements.villages.value),
    enabled: form.elements.enabled.checked,
    allow_private: form.elements.allow_private.checked,
    mentions: mentionsOf(form),
  };
  if (form.elements.secret.value.trim()) body.secret = form.elements.secret.value.trim();
  return body;
}

async function submit(event) {
  event.preventDefault();
  const form = event.target;
  $("#channel-error").textContent = "";
  const body = formBody(form);
  try {
    if (state.editing) {
      if (body.url === state.editing.url) delete body.url;
      const saved = await sendJSON("PATCH", `/api/v1/webhooks/${encodeURIComponent(state.editing.id)}`, body);
      say(t("mc.saved", { name: names(saved) }));
      closeEditor();
    } else {
      const made = await postJSON("/api/v1/webhooks", body);
      say(t("mc.added", { name: names(made) }));
      if (made.secret) {
        $("#mc-secret").hidden = false;
        $("#mc-secret-value").textContent = made.secret;
      }
      closeEditor();
    }
    await load();
  } catch (error) {
    $("#channel-error").textContent = t(state.editing ? "mc.refused.edit" : "mc.refused", { error: error.message });
  }
}

async function loadDeliveries() {
  state.deliveries = listOf(await optionalJSON("/api/v1/deliveries?limit=200"), "deliveries");
  render();
}

async function load() {
  const body = await optionalJSON("/api/v1/webhooks");
  if (body === null) {
    say(t("alerts.disabled"));
    return;
  }
  state.channels = listOf(body, "webhooks");
  await loadDeliveries();
}

startShell();
await requireLogin();
if (!may("admin")) {
  for (const card of document.querySelectorAll("main .card")) card.hidden = true;
  say(t("mc.admin.only"), true);
} else {
  fillForm();
  $("#channel-form").addEventListener("submit", submit);
  $("#cancel-channel").addEventListener("click", closeEditor);
  $("#add-mention").addEventListener("click", () => $("#mention-rows").append(mentionRow()));
  $("#allow-private").addEventListener("change", showPrivateWarning);
  await load().catch((error) => say(t("load.failed", { error: error.message }), true));
  onLanguageChange(() => {
    fillForm();
    render();
  });
}
