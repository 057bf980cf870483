// The villagers' report page: category, description, photos, a position from the phone or
// the plan, optional name and phone; the answer is the report's number and private link.

import "./words_report.js";
import { $, h, s } from "./dom.js";
import { applyTranslations, lang, onLanguageChange, setLanguage, t } from "./i18n.js";
import { drawPlan } from "./plan.js";

const FORM_API = "/api/v1/public/reports/form";
const SEND_API = "/api/v1/public/reports";
// Built by the similarity work; while it is missing (404) the page says nothing of it.
const NEARBY_API = "/api/v1/public/reports/nearby";
const MIN_SPAN = 0.004;

const form = $("#report-form");
let info = null;
let frame = null;
let position = null;
let photos = [];

function name(item) {
  return lang() === "en" ? item.name_en || item.name_zh : item.name_zh;
}

function question(q) {
  return lang() === "en" ? q.description_en || q.description_zh : q.description_zh;
}

function chosenCategory() {
  const code = form.elements.category?.value;
  return info?.categories.find((c) => c.code === code) || null;
}

function drawCategories() {
  const box = $("#rp-categories");
  const chosen = form.elements.category?.value;
  box.querySelectorAll("label").forEach((el) => el.remove());
  for (const c of info.categories) {
    box.append(
      h(
        "label",
        { class: "choice" },
        h("input", { type: "radio", name: "category", value: c.code, checked: c.code === chosen, onchange: onCategory }),
        name(c),
      ),
    );
  }
}

function drawQuestions() {
  const box = $("#rp-questions");
  const kept = Object.fromEntries([...box.querySelectorAll("[data-code]")].map((el) => [el.dataset.code, el.value]));
  box.replaceChildren();
  for (const q of chosenCategory()?.questions || []) {
    const id = `rp-q-${q.code}`;
    box.append(h("label", { for: id }, question(q), q.required ? " *" : ""));
    let input;
    if (q.values.length) {
      input = h("select", { id, "data-code": q.code }, h("option", { value: "" }, "—"));
      for (const v of q.values) input.append(h("option", { value: v.key }, name(v)));
    } else {
      input = h("input", { id, "data-code": q.code, inputmode: q.datatype === "number" ? "decimal" : null });
    }
    input.value = kept[q.code] || "";
    box.append(input);
  }
}

function onCategory() {
  drawQuestions();
  askNearby();
}

function landmarksAsDevices(landmarks) {
  return landmarks.map((m, i) => ({
    id: `m${i}`,
    village: m.village,
    sensors: m.water ? ["water_level"] : [],
    location: { lat: m.lat, lon: m.lon, place: "" },
  }));
}

function drawMap() {
  const svg = $("#rp-plan");
  const marks = info?.landmarks || [];
  $("#rp-plan-wrap").hidden = !marks.length;
  $("#rp-plan-hint").hidden = !marks.length;
  if (!marks.length) return;
  frame = drawPlan(svg, landmarksAsDevices(marks), [], null, MIN_SPAN);
  drawPicked();
}

function drawPicked() {
  const svg = $("#rp-plan");
  svg.querySelector(".placed-mark")?.remove();
  $("#rp-position").textContent = position
    ? t("rp.position", { lat: position.lat.toFixed(5), lon: position.lon.toFixed(5) })
    : t("rp.position.none");
  if (!frame || !position) return;
  const at = frame.at(position.lat, position.lon);
  svg.append(
    s(
      "g",
      { class: "placed-mark", transform: `translate(${at.x.toFixed(1)},${at.y.toFixed(1)})` },
      s("circle", { r: 11, class: "placed-ring" }),
      s("circle", { r: 5, class: "placed-dot" }),
    ),
  );
}

function setPosition(lat, lon) {
  position = { lat, lon };
  form.elements.lat.value = lat.toFixed(6);
  form.elements.lon.value = lon.toFixed(6);
  drawPicked();
  askNearby();
}

function pickOnPlan(event) {
  if (!frame) return;
  const svg = $("#rp-plan");
  const point = svg.createSVGPoint();
  point.x = event.clientX;
  point.y = event.clientY;
  const p = point.matrixTransform(svg.getScreenCTM().inverse());
  const { lat, lon } = frame.latLon(p.x, p.y);
  setPosition(lat, lon);
}

function locate() {
  const note = $("#rp-position");
  if (!navigator.geolocation) {
    note.textContent = t("rp.locate.failed", { error: "—" });
    return;
  }
  note.textContent = t("rp.locating");
  navigator.geolocation.getCurrentPosition(
    (found) => setPosition(found.coords.latitude, found.coords.longitude),
    (error) => (note.textContent = t("rp.locate.failed", { error: error.message || error.code })),
    { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 },
  );
}

// Shrinks a photo in the phone before it is sent, when the browser can: less to send on a
// slow connection. The server decodes and re-encodes it anyway.
async function shrink(file) {
  const edge = info?.photo_edge || 1600;
  try {
    const bitmap = await createImageBitmap(file, { imageOrientation: "from-image" });
    const scale = Math.min(1, edge / Math.max(bitmap.width, bitmap.height));
    const canvas = document.createElement("canvas");
    canvas.width = Math.round(bitmap.width * scale);
    canvas.height = Math.round(bitmap.height * scale);
    canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    const blob = await new Promise((done) => canvas.toBlob(done, "image/jpeg", 0.85));
    return blob && blob.size < file.size ? blob : file;
  } catch {
    return file;
  }
}

async function onPhotos(event) {
  const most = info?.max_photos ?? 3;
  const files = [...event.target.files];
  showError(files.length > most ? t("rp.photo.tooMany", { n: most }) : "");
  photos = await Promise.all(files.slice(0, most).map(shrink));
  $("#rp-thumbs").replaceChildren(...photos.map((p) => h("img", { src: URL.createObjectURL(p), alt: "" })));
}

// The hook for "already reported nearby": a list of {number, status, ...} or {reports: [...]}.
async function askNearby() {
  const box = $("#rp-nearby");
  const category = form.elements.category?.value;
  if (!position || !category) return;
  const query = new URLSearchParams({ lat: position.lat, lon: position.lon, category });
  let found = null;
  try {
    const response = await fetch(`${NEARBY_API}?${query}`, { headers: { Accept: "application/json" } });
    if (response.ok) found = await response.json();
  } catch {
    found = null;
  }
  const list = Array.isArray(found) ? found : found?.reports || found?.items || [];
  box.hidden = !list.length;
  if (!list.length) return;
  box.replaceChildren(
    h("strong", { text: t("rp.nearby") }),
    h("ul", {}, ...list.slice(0, 5).map((r) => h("li", {}, `${r.number || ""} · ${t(`status.${r.status}`)}${r.description ? ` · ${r.description}` : ""}`))),
    h("p", { class: "muted", text: t("rp.nearby.hint") }),
  );
}

function showError(text) {
  const el = $("#rp-error");
  el.textContent = text;
  el.hidden = !text;
}

async function send(event) {
  event.preventDefault();
  const category = chosenCategory();
  if (!category) return showError(t("rp.pickCategory"));
  if (!form.elements.description.value.trim()) return showError(t("rp.needDescription"));
  const body = new FormData();
  for (const field of ["category", "description", "lat", "lon", "place", "name", "phone"]) {
    const value = form.elements[field]?.value || "";
    if (value) body.append(field, value);
  }
  for (const el of $("#rp-questions").querySelectorAll("[data-code]")) {
    if (el.value) body.append(`attribute[${el.dataset.code}]`, el.value);
  }
  photos.forEach((p, i) => body.append("photo", p, p.name || `photo-${i + 1}.jpg`));
  const button = $("#rp-submit");
  button.disabled = true;
  button.textContent = t("rp.sending");
  try {
    const response = await fetch(SEND_API, { method: "POST", body });
    const answer = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(answer.error || response.statusText);
    done(answer);
  } catch (error) {
    showError(t("rp.failed", { error: error.message }));
  } finally {
    button.disabled = false;
    button.textContent = t("rp.submit");
  }
}

function done(answer) {
  const link = new URL(answer.status_url, location.href).href;
  form.hidden = true;
  $("#rp-done").hidden = false;
  $("#rp-number").textContent = answer.number;
  $("#rp-link").href = link;
  $("#rp-link").textContent = link;
}

function translatePlaceholders() {
  for (const el of document.querySelectorAll("[data-i18n-placeholder]")) el.placeholder = t(el.dataset.i18nPlaceholder);
  const limit = $("#rp-photo-limit");
  if (info) limit.textContent = t("rp.photo.limit", { n: info.max_photos });
}

async function start() {
  applyTranslations();
  translatePlaceholders();
  $("#lang-switch").addEventListener("click", () => setLanguage(lang() === "zh" ? "en" : "zh"));
  onLanguageChange(() => {
    translatePlaceholders();
    if (info) {
      drawCategories();
      drawQuestions();
      drawMap();
    }
  });
  form.addEventListener("submit", send);
  $("#rp-locate").addEventListener("click", locate);
  $("#rp-plan").addEventListener("click", pickOnPlan);
  $("#rp-photos").addEventListener("change", onPhotos);
  $("#rp-copy").addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText($("#rp-link").href);
      $("#rp-copy").textContent = t("rp.copied");
    } catch {
      // Without clipboard access the link is there to copy by hand.
    }
  });
  $("#rp-again").addEventListener("click", () => location.assign("/report"));
  try {
    const response = await fetch(FORM_API, { headers: { Accept: "application/json" } });
    if (!response.ok) throw new Error((await response.json().catch(() => ({}))).error || response.statusText);
    info = await response.json();
  } catch (error) {
    showError(t("rp.failed", { error: error.message }));
    return;
  }
  const photoInput = $("#rp-photos");
  photoInput.hidden = info.max_photos === 0;
  form.elements.description.maxLength = info.max_description_chars;
  translatePlaceholders();
  drawCategories();
  drawMap();
  drawPicked();
  form.dataset.ready = "true";
}

start();
