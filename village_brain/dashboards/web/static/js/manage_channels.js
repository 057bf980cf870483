// Notification channels (webhooks and chat robots), for admins: add, remove, send a test, and
// each channel's latest deliveries with their status. Read leniently: fields the webhooks API
// adds later are shown as they come, and a test route it lacks is said so in words.

import { may, requireLogin } from "./auth.js";
import { ApiError, listOf, optionalJSON, postJSON, sendJSON } from "./api.js";
import { $, h } from "./dom.js";
import { dateTime } from "./format.js";
import { onLanguageChange, t } from "./i18n.js";
import { startShell } from "./shell.js";

const KINDS = ["standard", "dingtalk", "wecom", "feishu"];
const SEVERITIES = ["critical", "major", "warning", "minor", "info"];
const DELIVERIES_SHOWN = 5;
const state = { channels: [], deliveries: [] };

function say(text, isError = false) {
  const line = $("#mc-status");
  line.textContent = text;
  line.classList.toggle("error", isError);
}

function deliveryLine(d) {
  const when = d.delivered || d.last_attempt || d.created;
  const answer = d.last_status ? `HTTP ${d.last_status}` : d.last_error || "";
  return h(
    "li",
    { "data-delivery": d.id, "data-state": d.state },
    h("span", { class: `delivery-state state-${d.state}`, text: t(`mc.state.${d.state}`) }),
    ` ${when ? dateTime(Date.parse(when)) : ""} · ${d.event_type || ""} · ${t("mc.attempts", { n: d.attempts ?? 0 })}`,
    answer ? ` · ${answer}` : "",
  );
}

async function sendTest(channel) {
  try {
    const answer = await postJSON(`/api/v1/webhooks/${encodeURIComponent(channel.id)}/test`, {});
    const status = answer?.status ?? answer?.last_status ?? answer?.http_status;
    say(t("mc.test.sent", { name: channel.name || channel.id, answer: status ? `HTTP ${status}` : JSON.stringify(answer ?? {}) }));
  } catch (error) {
    if (error instanceof ApiError && (error.status === 404 || error.status === 405)) say(t("mc.test.missing"), true);
    else say(t("md.failed", { error: error.message }), true);
  }
  await loadDeliveries().catch(() => {});
}

async function remove(channel) {
  if (!confirm(t("mc.remove.confirm", { name: channel.name || channel.url }))) return;
  try {
    await sendJSON("DELETE", `/api/v1/webhooks/${encodeURIComponent(channel.id)}`);
    say(t("mc.removed", { name: channel.name || channel.id }));
    await load();
  } catch (error) {
    say(t("md.failed", { error: error.message }), true);
  }
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
        h("span", {}, h("strong", { text: c.name || c.id }), ` · ${t(`mc.kind.${c.kind}`)}`, c.enabled === false ? ` · ${t("mr.disabled")}` : ""),
        h("span", { class: "muted channel-url", text: c.url }),
        h("span", { class: "muted", text: scope }),
        h(
          "span",
          { class: "row-actions" },
          h("button", { type: "button", class: "test", text: t("mc.test"), onclick: () => sendTest(c) }),
          h("button", { type: "button", class: "danger remove", text: t("mu.remove"), onclick: () => remove(c) }),
        ),
        h("h3", { text: t("mc.deliveries") }),
        mine.length ? h("ul", { class: "deliveries" }, mine.map(deliveryLine)) : h("p", { class: "muted", text: t("mc.deliveries.none") }),
      );
    }),
  );
}

function fillForm() {
  const kind = $("#channel-kind");
  const chosen = kind.value || "standard";
  kind.replaceChildren(...KINDS.map((k) => h("option", { value: k, text: t(`mc.kind.${k}`) })));
  kind.value = chosen;
  const box = $("#channel-severities");
  const ticked = new Set([...box.querySelectorAll("input:checked")].map((i) => i.value));
  box.replaceChildren(
    h("legend", { text: t("mc.f.severities") }),
    ...SEVERITIES.map((s) =>
      h("label", { class: "check" }, h("input", { type: "checkbox", name: "severity", value: s, checked: ticked.has(s) }), ` ${t(`severity.${s}`)}`),
    ),
  );
}

async function add(event) {
  event.preventDefault();
  const form = event.target;
  $("#channel-error").textContent = "";
  const body = {
    name: form.elements.name.value.trim(),
    kind: form.elements.kind.value,
    url: form.elements.url.value.trim(),
    severities: [...form.querySelectorAll("input[name=severity]:checked")].map((i) => i.value),
    villages: form.elements.villages.value.split(/[,，、\s]+/).filter(Boolean),
  };
  if (form.elements.secret.value.trim()) body.secret = form.elements.secret.value.trim();
  try {
    const made = await postJSON("/api/v1/webhooks", body);
    say(t("mc.added", { name: made.name || made.id }));
    if (made.secret) {
      $("#mc-secret").hidden = false;
      $("#mc-secret-value").textContent = made.secret;
    }
    form.reset();
    await load();
  } catch (error) {
    $("#channel-error").textContent = t("mc.refused", { error: error.message });
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
  $("#channel-form").addEventListener("submit", add);
  await load().catch((error) => say(t("load.failed", { error: error.message }), true));
  onLanguageChange(() => {
    fillForm();
    render();
  });
}
