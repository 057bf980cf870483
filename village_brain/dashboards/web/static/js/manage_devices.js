// Managing devices: the list with filters for everyone who may read; registering, editing,
// placing on the plan, approving, credentials and decommissioning for admins only.

import { may, requireLogin } from "./auth.js";
import { ApiError, getJSON, optionalJSON, postJSON, sendJSON } from "./api.js";
import { $, debounce, h } from "./dom.js";
import { dateTime } from "./format.js";
import { kindIds, kindName, onLanguageChange, t } from "./i18n.js";
import { Placer } from "./placer.js";
import { displayName, startShell } from "./shell.js";

const ADMIN_API = "/api/v1/device-admin";
const HEALTHS = ["ok", "refused", "offline", "unknown"];

const state = { devices: [], pending: [], editing: null, creating: false };
const placer = new Placer($("#placer"), $("#device-form"), $("#placer-hint"));

function healthName(health) {
  return health === "unknown" ? t("md.health.unknown") : t(`state.${health}`);
}

function say(text, isError = false) {
  const line = $("#md-status");
  line.textContent = text;
  line.classList.toggle("error", isError);
}

function failed(error) {
  say(t("md.failed", { error: error.message }), true);
}

function fillSelect(select, values, label) {
  const chosen = select.value;
  select.replaceChildren(
    h("option", { value: "", text: t("filter.all") }),
    ...values.map((v) => h("option", { value: v, text: label(v) })),
  );
  if (values.includes(chosen)) select.value = chosen;
}

function renderFilters() {
  const villages = [...new Set(state.devices.map((d) => d.village))].sort();
  const kinds = [...new Set(state.devices.map((d) => d.kind))].sort();
  fillSelect($("#mf-village"), villages, (v) => v);
  fillSelect($("#mf-kind"), kinds, kindName);
  fillSelect($("#mf-health"), HEALTHS, healthName);
  $("#village-list").replaceChildren(...villages.map((v) => h("option", { value: v })));
}

function matches(device) {
  const village = $("#mf-village").value;
  const kind = $("#mf-kind").value;
  const health = $("#mf-health").value;
  const text = $("#mf-text").value.trim().toLowerCase();
  const words = [device.id, device.name, device.location.place, device.foreign_id, kindName(device.kind)];
  return (
    (!village || device.village === village) &&
    (!kind || device.kind === kind) &&
    (!health || device.health === health) &&
    (!text || words.some((w) => (w || "").toLowerCase().includes(text)))
  );
}

function placeText(device) {
  const { lat, lon, place } = device.location;
  const where = Number.isFinite(lat) && Number.isFinite(lon) ? `${lat.toFixed(5)}, ${lon.toFixed(5)}` : null;
  return [place, where || t("md.unplaced")].filter(Boolean).join(" · ");
}

function renderTable() {
  const shown = state.devices.filter(matches);
  $("#md-count").textContent = t("md.count", { shown: shown.length, all: state.devices.length });
  const admin = may("admin");
  $("#md-devices .col-actions").hidden = !admin;
  const body = $("#md-devices tbody");
  if (!shown.length) {
    body.replaceChildren(h("tr", {}, h("td", { colspan: 5, class: "muted", text: t("devices.empty") })));
    return;
  }
  body.replaceChildren(
    ...shown.map((device) =>
      h(
        "tr",
        { "data-device": device.id, "data-health": device.health },
        h(
          "th",
          { scope: "row" },
          h("a", { href: `/devices/${encodeURIComponent(device.id)}`, text: displayName(device) }),
          h("span", { class: "sub", text: `${device.id} · ${device.village}` }),
        ),
        h("td", { class: "kind", "data-kind": device.kind, text: kindName(device.kind) }),
        h("td", { class: "place", text: placeText(device) }),
        h("td", { class: `badge state-${device.health === "ok" ? "ok" : device.health}`, text: healthName(device.health) }),
        admin
          ? h("td", { class: "actions-cell" }, h("button", { type: "button", class: "edit", text: t("md.edit"), onclick: () => openEditor(device) }))
          : null,
      ),
    ),
  );
}

function renderPending() {
  const section = $("#pending");
  section.hidden = !may("admin");
  if (section.hidden) return;
  const list = $("#pending-list");
  if (!state.pending.length) {
    list.replaceChildren(h("li", { class: "muted", text: t("md.pending.empty") }));
    return;
  }
  list.replaceChildren(
    ...state.pending.map((p) =>
      h(
        "li",
        { "data-device": p.device },
        h("strong", { text: p.device }),
        " ",
        h("span", { class: "muted", text: t("md.pending.seen", { village: p.village, n: p.messages, time: dateTime(Date.parse(p.last_refused)) }) }),
        h(
          "span",
          { class: "row-actions" },
          h("button", { type: "button", class: "approve", text: t("md.approve"), onclick: () => decide(p, "approve") }),
          h("button", { type: "button", class: "refuse quiet", text: t("md.refuse"), onclick: () => decide(p, "refuse") }),
        ),
      ),
    ),
  );
}

async function decide(pending, verdict) {
  try {
    await postJSON(`${ADMIN_API}/pending/${encodeURIComponent(pending.device)}/${verdict}`, verdict === "approve" ? {} : undefined);
    say(t(verdict === "approve" ? "md.approved" : "md.refused", { device: pending.device }));
    await load();
  } catch (error) {
    failed(error);
  }
}

function fillKinds(current) {
  const kinds = [...new Set([...kindIds(), ...state.devices.map((d) => d.kind), current])].filter(Boolean);
  $("#f-kind").replaceChildren(...kinds.map((k) => h("option", { value: k, text: kindName(k) })));
  $("#f-kind").value = current;
}

function openEditor(device) {
  state.editing = device;
  state.creating = !device;
  const form = $("#device-form");
  form.reset();
  $("#form-error").textContent = "";
  $("#secret").hidden = true;
  const title = device ? t("md.editor.edit", { device: displayName(device) }) : t("md.editor.new");
  $("#editor-title").textContent = title;
  form.elements.id.value = device?.id ?? "";
  form.elements.id.readOnly = Boolean(device);
  $(".f-id").hidden = Boolean(device);
  form.elements.name.value = device?.name ?? "";
  fillKinds(device?.kind ?? "unknown");
  form.elements.village.value = device?.village ?? ($("#mf-village").value || "");
  form.elements.place.value = device?.location.place ?? "";
  form.elements.lat.value = device?.location.lat ?? "";
  form.elements.lon.value = device?.location.lon ?? "";
  $("#editor").hidden = false;
  placer.show(state.devices, device?.id ?? null);
  $("#access").hidden = !device;
  if (device) loadAccess(device).catch(failed);
  $("#editor").scrollIntoView({ block: "start" });
  (device ? form.elements.name : form.elements.id).focus({ preventScroll: true });
}

function closeEditor() {
  state.editing = null;
  $("#editor").hidden = true;
}

function formBody(form) {
  const number = (input) => (input.value.trim() === "" ? null : Number(input.value));
  return {
    village: form.elements.village.value.trim(),
    kind: form.elements.kind.value,
    name: form.elements.name.value.trim(),
    place: form.elements.place.value.trim(),
    lat: number(form.elements.lat),
    lon: number(form.elements.lon),
  };
}

async function save(event) {
  event.preventDefault();
  const form = event.target;
  const body = formBody(form);
  try {
    const saved = state.creating
      ? await postJSON(`${ADMIN_API}/devices`, { id: form.elements.id.value.trim(), ...body })
      : await sendJSON("PUT", `${ADMIN_API}/devices/${encodeURIComponent(state.editing.id)}`, body);
    say(t("md.saved", { device: saved.name || saved.id }));
    closeEditor();
    await load();
  } catch (error) {
    $("#form-error").textContent = t("md.failed", { error: error.message });
  }
}

async function loadAccess(device) {
  const access = await getJSON(`${ADMIN_API}/devices/${encodeURIComponent(device.id)}/access`);
  $("#access-mqtt").textContent = t("md.access.mqtt", { user: access.mqtt_username });
  $("#access-issued").textContent = access.mqtt_password_issued
    ? t("md.access.issued", { time: dateTime(Date.parse(access.mqtt_password_issued)) })
    : t("md.access.none");
  const list = $("#token-list");
  list.replaceChildren(
    ...(access.tokens.length
      ? access.tokens.map((token) =>
          h(
            "li",
            { "data-token": token.id },
            t("md.access.token", { id: token.id, time: dateTime(Date.parse(token.issued)) }),
            " ",
            h("button", { type: "button", class: "quiet revoke", text: t("md.access.revoke"), onclick: () => revokeToken(device, token) }),
          ),
        )
      : [h("li", { class: "muted", text: t("md.access.tokens.none") })]),
  );
}

function showSecret(value, note) {
  $("#secret").hidden = false;
  $("#secret-value").textContent = value;
  $("#secret-note").textContent = note;
}

async function rotatePassword() {
  const device = state.editing;
  if (!device || !confirm(t("md.access.rotate.confirm"))) return;
  try {
    const made = await postJSON(`${ADMIN_API}/devices/${encodeURIComponent(device.id)}/mqtt-password`);
    showSecret(made.password, t("md.secret.note"));
    await loadAccess(device);
  } catch (error) {
    failed(error);
  }
}

async function newToken() {
  const device = state.editing;
  if (!device) return;
  try {
    const made = await postJSON(`${ADMIN_API}/devices/${encodeURIComponent(device.id)}/tokens`);
    showSecret(made.token, "");
    await loadAccess(device);
  } catch (error) {
    failed(error);
  }
}

async function revokeToken(device, token) {
  try {
    await sendJSON("DELETE", `${ADMIN_API}/devices/${encodeURIComponent(device.id)}/tokens/${token.id}`);
    await loadAccess(device);
  } catch (error) {
    failed(error);
  }
}

async function decommission() {
  const device = state.editing;
  if (!device || !confirm(t("md.decommission.confirm", { device: device.id }))) return;
  try {
    await sendJSON("DELETE", `${ADMIN_API}/devices/${encodeURIComponent(device.id)}`);
    say(t("md.decommissioned", { device: device.id }));
    closeEditor();
    await load();
  } catch (error) {
    failed(error);
  }
}

async function load() {
  const [devices, pending] = await Promise.all([
    getJSON("/api/v1/devices"),
    may("admin") ? optionalJSON(`${ADMIN_API}/pending`) : Promise.resolve([]),
  ]);
  state.devices = devices.sort((a, b) => a.village.localeCompare(b.village) || a.id.localeCompare(b.id));
  state.pending = pending || [];
  renderFilters();
  renderTable();
  renderPending();
}

startShell();
await requireLogin();
$("#new-device").hidden = !may("admin");
try {
  await load();
} catch (error) {
  if (!(error instanceof ApiError)) throw error;
  failed(error);
}
const params = new URLSearchParams(location.search);
const asked = params.get("edit");
if (asked && may("admin")) {
  const device = state.devices.find((d) => d.id === asked);
  if (device) openEditor(device);
}
for (const id of ["#mf-village", "#mf-kind", "#mf-health"]) $(id).addEventListener("change", renderTable);
$("#mf-text").addEventListener("input", debounce(renderTable, 150));
$("#md-filters").addEventListener("submit", (event) => event.preventDefault());
$("#new-device").addEventListener("click", () => openEditor(null));
$("#device-form").addEventListener("submit", save);
$("#cancel-edit").addEventListener("click", closeEditor);
$("#rotate-password").addEventListener("click", rotatePassword);
$("#new-token").addEventListener("click", newToken);
$("#decommission").addEventListener("click", decommission);
$("#clear-coords").addEventListener("click", () => placer.clear());
onLanguageChange(() => {
  renderFilters();
  renderTable();
  renderPending();
  if (state.editing || state.creating) placer.redraw();
});
