// Setting a device's coordinates on the village plan: a click puts the mark there, a drag
// moves it, and the latitude and longitude fields follow (typing in them moves the mark).

import { s } from "./dom.js";
import { drawPlan, placed } from "./plan.js";
import { t } from "./i18n.js";
import { config } from "./config.js";

// About 600 m at these latitudes: a plan around one device still shows its neighbourhood.
const MIN_SPAN = 0.004;
const DECIMALS = 6;

export class Placer {
  constructor(svg, form, hint) {
    this.svg = svg;
    this.form = form;
    this.hint = hint;
    this.devices = [];
    this.deviceId = null;
    this.frame = null;
    this.dragging = false;
    svg.addEventListener("pointerdown", (event) => this.start(event));
    svg.addEventListener("pointermove", (event) => this.move(event));
    svg.addEventListener("pointerup", () => this.stop());
    svg.addEventListener("pointercancel", () => this.stop());
    for (const name of ["lat", "lon"]) form.elements[name].addEventListener("change", () => this.redraw());
    form.elements.village.addEventListener("change", () => this.redraw());
  }

  show(devices, deviceId) {
    this.devices = devices;
    this.deviceId = deviceId;
    this.redraw();
  }

  position() {
    const lat = Number.parseFloat(this.form.elements.lat.value);
    const lon = Number.parseFloat(this.form.elements.lon.value);
    return Number.isFinite(lat) && Number.isFinite(lon) ? { lat, lon } : null;
  }

  // The plan of the device's village (or of all, for a village with nothing placed yet),
  // with the device's own position in it so that the extent holds the mark.
  reference() {
    const village = this.form.elements.village.value.trim();
    const others = placed(this.devices).filter((d) => d.id !== this.deviceId);
    const inVillage = others.filter((d) => d.village === village);
    const around = inVillage.length ? inVillage : others;
    const here = this.position();
    const self = here ? [{ id: "\u0000self", village, sensors: [], location: { ...here, place: "" } }] : [];
    return { around, all: [...around, ...self] };
  }

  redraw() {
    const { around, all } = this.reference();
    const items = around.map((device) => ({ device, state: "offline", title: device.name || device.id }));
    this.frame = drawPlan(this.svg, all, items, config.tileUrl, MIN_SPAN);
    this.hint.textContent = this.frame ? t("md.plan.hint") : t("md.plan.none");
    this.drawMark();
  }

  drawMark() {
    this.svg.querySelector(".placed-mark")?.remove();
    const here = this.position();
    if (!this.frame || !here) return;
    const at = this.frame.at(here.lat, here.lon);
    this.svg.append(
      s(
        "g",
        { class: "placed-mark", transform: `translate(${at.x.toFixed(1)},${at.y.toFixed(1)})`, "data-lat": here.lat, "data-lon": here.lon },
        s("title", {}, t("md.plan.here")),
        s("circle", { r: 11, class: "placed-ring" }),
        s("circle", { r: 5, class: "placed-dot" }),
      ),
    );
  }

  pointer(event) {
    const point = this.svg.createSVGPoint();
    point.x = event.clientX;
    point.y = event.clientY;
    return point.matrixTransform(this.svg.getScreenCTM().inverse());
  }

  setFrom(event) {
    if (!this.frame) return;
    const p = this.pointer(event);
    const x = Math.min(Math.max(p.x, 0), this.frame.width);
    const y = Math.min(Math.max(p.y, 0), this.frame.height);
    const { lat, lon } = this.frame.latLon(x, y);
    this.form.elements.lat.value = lat.toFixed(DECIMALS);
    this.form.elements.lon.value = lon.toFixed(DECIMALS);
    this.drawMark();
  }

  start(event) {
    if (!this.frame || event.button > 0) return;
    this.dragging = true;
    this.svg.setPointerCapture?.(event.pointerId);
    this.setFrom(event);
    event.preventDefault();
  }

  move(event) {
    if (this.dragging) this.setFrom(event);
  }

  stop() {
    // The extent stays put while dragging; it is fitted again to the new position after.
    if (this.dragging) {
      this.dragging = false;
      this.redraw();
    }
  }

  clear() {
    this.form.elements.lat.value = "";
    this.form.elements.lon.value = "";
    this.redraw();
  }
}
