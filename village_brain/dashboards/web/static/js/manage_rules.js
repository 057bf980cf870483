// Alert rules: every rule in force for all who may read; creating, editing, enabling and
// disabling for admins. The server checks each rule and says what to fix; the page shows it.
// Unknown fields of a rule are kept as they are, so a newer rules API is not broken by it.

import { may, requireLogin } from "./auth.js";
import { listOf, optionalJSON, postJSON, sendJSON } from "./api.js";
import { $, h } from "./dom.js";
import { onLanguageChange, sensorName, t } from "./i18n.js";
import { showPreview } from "./rule_preview.js";
import { startShell } from "./shell.js";

const SEVERITIES = ["critical", "major", "warning", "minor", "info"];
// The fields each kind of rule uses beside the scope (sensor, village, device, place).
const KIND_FIELDS = {
  threshold: ["sensor", "above", "below", "clear_above", "clear_below", "for", "during", "while_on"],
  rate: ["sensor", "rise", "fall", "within", "during"],
  no_data: ["silent_for"],
  boolean: ["sensor", "equals", "for", "during"],
  event: ["event", "clear_after"],
};
const SCOPE = ["village", "device", "place"];
const NUMBERS = new Set(["above", "below", "clear_above", "clear_below", "rise", "fall"]);
const state = { rules: [], editing: null, catalog: [] };

function say(text, isError = false) {
  const line = $("#mr-status");
  line.textContent = text;
  line.classList.toggle("error", isError);
}

function severityName(severity) {
  const key = `severity.${severity}`;
  return t(key) === key ? severity : t(key);
}

function summary(rule) {
  const parts = [t(`mr.kind.${rule.kind}`)];
  if (rule.sensor) parts.push(sensorName(rule.sensor));
  for (const key of ["above", "below", "rise", "fall", "silent_for", "event", "for", "within"]) {
    if (rule[key] !== undefined && rule[key] !== null) parts.push(`${t(`mr.f.${key}`)} ${rule[key]}`);
  }
  for (const key of SCOPE) if (rule[key]) parts.push(`${t(`mr.f.${key}`)} ${rule[key]}`);
  return parts.join(" · ");
}

function renderList() {
  const admin = may("admin");
  $("#new-rule").hidden = !admin;
  $("#rule-list").replaceChildren(
    ...state.rules.map((rule) =>
      h(
        "li",
        { "data-rule": rule.id, "data-enabled": String(rule.enabled !== false) },
        h("span", {}, h("span", { class: `sev sev-${rule.severity}`, text: severityName(rule.severity) }), " ", h("strong", { text: rule.name || rule.id }),
          rule.enabled === false ? h("span", { class: "muted", text: ` · ${t("mr.disabled")}` }) : null),
        h("span", { class: "muted", text: `${rule.id} · ${summary(rule)} · ${t(`mr.source.${rule.source || "api"}`)}` }),
        admin
          ? h(
              "span",
              { class: "row-actions" },
              h("button", { type: "button", class: "quiet edit", text: t("md.edit"), onclick: () => openEditor(rule) }),
              h("button", { type: "button", class: "quiet preview", text: t("mr.preview.short"), onclick: () => showPreview(stored(rule)) }),
              h("button", {
                type: "button",
                class: "quiet toggle",
                text: rule.enabled === false ? t("mr.enable") : t("mr.disable"),
                onclick: () => toggle(rule),
              }),
            )
          : may("operator")
            ? h("span", { class: "row-actions" }, h("button", { type: "button", class: "quiet preview", text: t("mr.preview.short"), onclick: () => showPreview(stored(rule)) }))
            : null,
      ),
    ),
  );
  if (!state.rules.length) $("#rule-list").replaceChildren(h("li", { class: "muted", text: t("mr.none") }));
}

function field(name, value) {
  const label = t(`mr.f.${name}`);
  if (name === "sensor" || name === "while_on") {
    const select = h("select", { name }, h("option", { value: "", text: "—" }), ...state.catalog.map((s) => h("option", { value: s.id, text: sensorName(s.id) })));
    select.value = value ?? "";
    return h("label", {}, h("span", { text: label }), select);
  }
  if (name === "equals") {
    const select = h("select", { name }, h("option", { value: "true", text: t("bool.on") }), h("option", { value: "false", text: t("bool.off") }));
    select.value = value === false ? "false" : "true";
    return h("label", {}, h("span", { text: label }), select);
  }
  const input = h("input", { name, autocomplete: "off", type: NUMBERS.has(name) ? "number" : "text", step: "any" });
  input.value = value ?? "";
  const hint = ["for", "within", "silent_for", "clear_after"].includes(name) ? t("mr.hint.duration") : name === "during" ? t("mr.hint.during") : "";
  return h("label", {}, h("span", { text: label }), input, hint ? h("small", { class: "muted", text: hint }) : null);
}

function renderFields(rule) {
  const kind = $("#rule-kind").value;
  $("#rule-fields").replaceChildren(...[...KIND_FIELDS[kind], ...SCOPE].map((name) => field(name, rule?.[name])));
}

function openEditor(rule) {
  state.editing = rule;
  const form = $("#rule-form");
  form.reset();
  $("#rule-error").textContent = "";
  $("#rule-editor-title").textContent = rule ? t("mr.edit", { rule: rule.name || rule.id }) : t("mr.new");
  form.elements.id.value = rule?.id ?? "";
  form.elements.id.readOnly = Boolean(rule);
  $(".f-rule-id").hidden = Boolean(rule);
  form.elements.name.value = rule?.name ?? "";
  $("#rule-kind").replaceChildren(...Object.keys(KIND_FIELDS).map((k) => h("option", { value: k, text: t(`mr.kind.${k}`) })));
  $("#rule-kind").value = rule?.kind ?? "threshold";
  $("#rule-severity").replaceChildren(...SEVERITIES.map((s) => h("option", { value: s, text: severityName(s) })));
  $("#rule-severity").value = rule?.severity ?? "warning";
  form.elements.enabled.checked = rule?.enabled !== false;
  renderFields(rule);
  $("#rule-editor").hidden = false;
  $("#rule-editor").scrollIntoView({ block: "start" });
}

function ruleBody(form) {
  const body = { name: form.elements.name.value.trim(), kind: form.elements.kind.value, severity: form.elements.severity.value, enabled: form.elements.enabled.checked };
  for (const name of [...KIND_FIELDS[body.kind], ...SCOPE]) {
    const raw = form.elements[name]?.value?.trim() ?? "";
    if (raw === "") continue;
    body[name] = NUMBERS.has(name) ? Number(raw) : name === "equals" ? raw === "true" : raw;
  }
  return body;
}

async function save(event) {
  event.preventDefault();
  const form = event.target;
  const body = ruleBody(form);
  try {
    if (state.editing) {
      await sendJSON("PUT", `/api/v1/rules/${encodeURIComponent(state.editing.id)}`, body);
    } else {
      await postJSON("/api/v1/rules", { id: form.elements.id.value.trim(), ...body });
    }
    say(t("mr.saved", { rule: body.name }));
    $("#rule-editor").hidden = true;
    await load();
  } catch (error) {
    $("#rule-error").textContent = t("mr.refused", { error: error.message });
  }
}

// The rule as the rules API takes it: the source field is ours, not the rule's.
function stored(rule) {
  const { source, ...kept } = rule;
  return kept;
}

// The rule as it is, with only `enabled` changed.
async function toggle(rule) {
  const kept = stored(rule);
  try {
    await sendJSON("PUT", `/api/v1/rules/${encodeURIComponent(rule.id)}`, { ...kept, enabled: rule.enabled === false });
    say(t(rule.enabled === false ? "mr.enabled" : "mr.disabled.done", { rule: rule.name || rule.id }));
    await load();
  } catch (error) {
    say(t("mr.refused", { error: error.message }), true);
  }
}

async function load() {
  const body = await optionalJSON("/api/v1/rules");
  if (body === null) {
    say(t("alerts.disabled"));
    state.rules = [];
  } else {
    state.rules = listOf(body, "rules").sort((a, b) => String(a.id).localeCompare(String(b.id)));
  }
  renderList();
}

startShell();
await requireLogin();
state.catalog = (await optionalJSON("/api/v1/sensor-types")) || [];
await load().catch((error) => say(t("load.failed", { error: error.message }), true));
$("#new-rule").addEventListener("click", () => openEditor(null));
$("#rule-kind").addEventListener("change", () => renderFields(state.editing));
$("#rule-form").addEventListener("submit", save);
$("#preview-rule").addEventListener("click", () => {
  const form = $("#rule-form");
  showPreview({ id: form.elements.id.value.trim() || state.editing?.id || "preview", ...ruleBody(form) });
});
$("#cancel-rule").addEventListener("click", () => {
  $("#rule-editor").hidden = true;
});
onLanguageChange(renderList);
