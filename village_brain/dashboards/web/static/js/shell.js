// What every view shares: the language switch, translations and the time-zone note.

import { timeZone } from "./format.js";
import { applyTranslations, lang, setLanguage } from "./i18n.js";

export function startShell() {
  applyTranslations();
  const zone = document.getElementById("tz-name");
  if (zone) zone.textContent = timeZone;
  document.getElementById("lang-switch")?.addEventListener("click", () => {
    setLanguage(lang() === "zh" ? "en" : "zh");
  });
}

export function deviceState(device, alertingDevices) {
  if (alertingDevices.has(device.id)) return "alerting";
  return device.online ? "ok" : "offline";
}

// The same shape in the plan, the legend and the table, so state never rests on colour alone.
export const STATE_SHAPES = {
  ok: { tag: "circle", attrs: { r: 6 } },
  alerting: { tag: "path", attrs: { d: "M0,-8 L7.5,5.5 L-7.5,5.5 Z" } },
  offline: { tag: "rect", attrs: { x: -5, y: -5, width: 10, height: 10 } },
};

// Registries often leave `name` empty; the place ("村口路灯") is what villagers call it then.
export function displayName(device) {
  return device.name || device.location?.place || device.id;
}
