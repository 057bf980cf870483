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
  if (device.health === "refused") return "refused";
  return device.health === "ok" ? "ok" : "offline";
}

// What the live feed tells between fetches. A reading is only announced once stored, so the
// device is healthy again; a status message changes whether it is online, not what was refused.
export function noteReading(device) {
  device.online = true;
  device.health = "ok";
}

export function noteStatus(device, status) {
  device.online = status === "online";
  if (!device.online) device.health = "offline";
  else if (device.health !== "refused") device.health = "ok";
}

// The same shape in the plan, the legend and the table, so state never rests on colour alone.
export const STATE_SHAPES = {
  ok: { tag: "circle", attrs: { r: 6 } },
  alerting: { tag: "path", attrs: { d: "M0,-8 L7.5,5.5 L-7.5,5.5 Z" } },
  offline: { tag: "rect", attrs: { x: -5, y: -5, width: 10, height: 10 } },
  refused: { tag: "path", attrs: { d: "M0,-7.5 L7.5,0 L0,7.5 L-7.5,0 Z" } },
};

// Registries often leave `name` empty; the place ("村口路灯") is what villagers call it then.
export function displayName(device) {
  return device.name || device.location?.place || device.id;
}
