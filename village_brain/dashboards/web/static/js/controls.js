// A device's controls: a lamp switch, a valve position, its actions. Anything the catalog
// marks dangerous is confirmed first; while a command is under way the card says so, and
// its outcome (done, failed with the device's reason, expired, timed out) is said in words.

import { ApiError, getJSON, optionalJSON, postJSON } from "./api.js";
import { may, requireLogin } from "./auth.js";
import { config } from "./config.js";
import { $, h } from "./dom.js";
import { dateTime } from "./format.js";
import { lang, onLanguageChange, sensorName } from "./i18n.js";

const POLL_MS = 500;
const LISTED = 10;

const WORDS = {
  zh: {
    title: "控制",
    recent: "最近的命令",
    none: "还没有命令。",
    set: "设定",
    sure: "“{what}”被标为危险操作。确定要发送吗？",
    refused: "未能发送：{error}",
    viewer: "需要操作员或管理员账号才能发送命令。",
    queued: "排队中",
    sent: "已发出，等待设备",
    accepted: "设备已接受，执行中",
    done: "已完成",
    failed: "失败",
    expired: "已过期（设备未在期限内接收）",
    timed_out: "超时（设备接受后未回复结果）",
    on: "开",
    off: "关",
    open: "打开",
    closed: "关闭",
    identify: "闪灯识别",
    reboot: "重启",
  },
  en: {
    title: "Controls",
    recent: "Recent commands",
    none: "No commands yet.",
    set: "Set",
    sure: "“{what}” is marked dangerous. Send it?",
    refused: "Not sent: {error}",
    viewer: "Sending commands needs an operator or admin account.",
    queued: "queued",
    sent: "sent, waiting for the device",
    accepted: "accepted by the device, under way",
    done: "done",
    failed: "failed",
    expired: "expired (the device did not take it in time)",
    timed_out: "timed out (accepted, but no outcome came)",
    on: "On",
    off: "Off",
    open: "Open",
    closed: "Closed",
    identify: "Identify",
    reboot: "Reboot",
  },
};
const TARGETS = {
  valve_position: ["阀门开度", "Valve position"],
  sluice_position: ["闸门开度", "Sluice position"],
  pump_state: ["水泵", "Pump"],
  siren_state: ["警报器", "Siren"],
  gate_state: ["大门", "Gate"],
};

const base = `/api/v1/devices/${encodeURIComponent(config.device)}`;
let controls = [];

function w(key, vars = {}) {
  const text = WORDS[lang()]?.[key] ?? WORDS.zh[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => String(vars[name] ?? ""));
}

function targetName(target) {
  const names = TARGETS[target];
  if (names) return names[lang() === "zh" ? 0 : 1];
  return WORDS.zh[target] ? w(target) : sensorName(target);
}

function outcome(command) {
  const words = w(command.state);
  return command.detail ? `${words}: ${command.detail}` : words;
}

async function send(control, value) {
  const what = value === undefined ? targetName(control.target) : `${targetName(control.target)} → ${value}`;
  if (control.dangerous && !window.confirm(w("sure", { what }))) return;
  const status = $("#control-status");
  try {
    const body = { target: control.target, confirm: control.dangerous };
    if (value !== undefined) body.value = value;
    const command = await postJSON(`${base}/commands`, body);
    follow(command.id);
  } catch (error) {
    status.dataset.state = "refused";
    status.textContent = w("refused", { error: error.message });
  }
}

async function follow(id) {
  const status = $("#control-status");
  for (;;) {
    const command = await getJSON(`/api/v1/commands/${encodeURIComponent(id)}`);
    status.dataset.state = command.state;
    status.textContent = `${targetName(command.target)}: ${outcome(command)}`;
    if (command.final) break;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  listCommands();
}

function controlRow(control) {
  const name = h("span", { class: "control-name", text: targetName(control.target) });
  if (control.kind === "number") {
    const input = h("input", {
      type: "number",
      min: control.min ?? 0,
      max: control.max ?? 100,
      step: 1,
      value: control.min ?? 0,
      "aria-label": targetName(control.target),
    });
    const set = h("button", { type: "button", text: w("set"), onclick: () => send(control, Number(input.value)) });
    return h("li", { "data-target": control.target }, name, input, set);
  }
  const values = control.kind === "action" ? [undefined] : control.values;
  const buttons = values.map((value) =>
    h("button", {
      type: "button",
      "data-value": value ?? control.target,
      class: control.dangerous ? "dangerous" : null,
      text: value === undefined ? targetName(control.target) : w(value),
      onclick: () => send(control, value),
    }),
  );
  return h("li", { "data-target": control.target }, name, ...buttons);
}

function draw() {
  const card = $("#controls");
  card.hidden = false;
  $("#controls-title").textContent = w("title");
  const list = $("#control-buttons");
  if (!may("operator")) {
    list.replaceChildren(h("li", { class: "muted", text: w("viewer") }));
  } else {
    list.replaceChildren(...controls.map(controlRow));
  }
  listCommands();
}

async function listCommands() {
  const commands = await getJSON(`${base}/commands?limit=${LISTED}`);
  const rows = commands.map((c) =>
    h(
      "li",
      { "data-command": c.id, "data-state": c.state },
      h("span", { text: dateTime(c.steps[0].at_ms) }),
      " ",
      h("strong", { text: `${targetName(c.target)}${c.value === null ? "" : ` ${c.value}`}` }),
      " · ",
      h("span", { class: "command-outcome", text: outcome(c) }),
      " · ",
      h("span", { class: "muted", text: c.by }),
    ),
  );
  $("#command-list").replaceChildren(...(rows.length ? rows : [h("li", { class: "muted", text: w("none") })]));
}

async function start() {
  await requireLogin();
  const found = await optionalJSON(`${base}/controls`).catch((error) => {
    if (error instanceof ApiError) return null;
    throw error;
  });
  // Only what a device may really be told: a gauge has no controls, only actions.
  controls = (found || []).filter((c) => c.kind !== "action" || found.some((o) => o.kind !== "action"));
  if (!controls.length) return;
  draw();
  onLanguageChange(draw);
}

start();
