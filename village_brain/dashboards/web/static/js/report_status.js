// A report as its private link shows it: status, the staff's public replies, the photos.
// The token is in the address after #, which browsers never send, and goes in a header.

import "./words_report.js";
import { $, h } from "./dom.js";
import { dateTime } from "./format.js";
import { applyTranslations, lang, onLanguageChange, setLanguage, t } from "./i18n.js";

const MINE_API = "/api/v1/public/reports/mine";
const FORM_API = "/api/v1/public/reports/form";
let report = null;
let categories = [];

function fail(text) {
  $("#st-loading").hidden = true;
  const el = $("#st-error");
  el.textContent = text;
  el.hidden = false;
}

function categoryName(code) {
  const found = categories.find((c) => c.code === code);
  if (!found) return code;
  return lang() === "en" ? found.name_en : found.name_zh;
}

function draw() {
  if (!report) return;
  $("#st-loading").hidden = true;
  $("#st-body").hidden = false;
  $("#st-number").textContent = report.number;
  $("#st-status").textContent = t(`status.${report.status}`);
  $("#st-status").dataset.status = report.status;
  $("#st-category").textContent = categoryName(report.category);
  $("#st-description").textContent = report.description;
  $("#st-created").textContent = dateTime(report.created_ms);
  $("#st-updated").textContent = dateTime(report.updated_ms);
  $("#st-photos").replaceChildren(...report.photos.map((src) => h("img", { src, alt: "", loading: "lazy" })));
  $("#st-replies").replaceChildren(
    ...report.replies.map((r) => h("li", {}, h("time", { text: dateTime(r.at_ms) }), h("span", { text: r.text }))),
  );
  $("#st-no-replies").hidden = report.replies.length > 0;
}

async function load() {
  const token = decodeURIComponent(location.hash.slice(1));
  if (!token) return fail(t("st.noToken"));
  try {
    const [mine, form] = await Promise.all([
      fetch(MINE_API, { headers: { Accept: "application/json", "X-Report-Token": token } }),
      fetch(FORM_API, { headers: { Accept: "application/json" } }),
    ]);
    if (form.ok) categories = (await form.json()).categories;
    if (mine.status === 404) return fail(t("st.notFound"));
    if (!mine.ok) throw new Error((await mine.json().catch(() => ({}))).error || mine.statusText);
    report = await mine.json();
    draw();
  } catch (error) {
    fail(t("load.failed", { error: error.message }));
  }
}

applyTranslations();
$("#lang-switch").addEventListener("click", () => setLanguage(lang() === "zh" ? "en" : "zh"));
onLanguageChange(draw);
window.addEventListener("hashchange", load);
load();
