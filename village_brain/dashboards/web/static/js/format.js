// Times in the configured zone, ages, and values with their units.

import { config } from "./config.js";
import { locale, t } from "./i18n.js";

export const timeZone = config.timeZone || "Asia/Shanghai";

const formatters = new Map();

function formatter(options) {
  const key = `${locale()}|${JSON.stringify(options)}`;
  if (!formatters.has(key)) {
    formatters.set(key, new Intl.DateTimeFormat(locale(), { timeZone, hourCycle: "h23", ...options }));
  }
  return formatters.get(key);
}

export function dateTime(ms) {
  return formatter({
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
  }).format(ms);
}

export function clock(ms) {
  return formatter({ hour: "2-digit", minute: "2-digit" }).format(ms);
}

export function dayAndClock(ms) {
  return formatter({ month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit" }).format(ms);
}

export function day(ms) {
  return formatter({ month: "2-digit", day: "2-digit" }).format(ms);
}

// Milliseconds to add to a UTC instant to get the wall-clock time in the configured zone.
export function zoneOffsetMs(ms) {
  const parts = {};
  const f = new Intl.DateTimeFormat("en-US", {
    timeZone,
    hourCycle: "h23",
    year: "numeric",
    month: "numeric",
    day: "numeric",
    hour: "numeric",
    minute: "numeric",
    second: "numeric",
  });
  for (const part of f.formatToParts(ms)) parts[part.type] = Number(part.value);
  const wall = Date.UTC(parts.year, parts.month - 1, parts.day, parts.hour, parts.minute, parts.second);
  return wall - Math.floor(ms / 1000) * 1000;
}

// "2026-05-01T08:30" typed in a datetime-local input, read as wall time in the configured zone.
export function parseWallTime(text) {
  const match = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(text || "");
  if (!match) return null;
  const [, y, mo, d, hh, mm] = match.map(Number);
  const wall = Date.UTC(y, mo - 1, d, hh, mm);
  // Two passes settle the offset across a daylight-saving change.
  let ms = wall - zoneOffsetMs(wall);
  ms = wall - zoneOffsetMs(ms);
  return ms;
}

export function toWallTimeInput(ms) {
  return new Date(ms + zoneOffsetMs(ms)).toISOString().slice(0, 16);
}

export function age(ms, now = Date.now()) {
  const seconds = Math.round((ms - now) / 1000);
  const rtf = new Intl.RelativeTimeFormat(locale(), { numeric: "auto", style: "short" });
  const abs = Math.abs(seconds);
  if (abs < 60) return rtf.format(Math.min(0, seconds), "second");
  if (abs < 3600) return rtf.format(Math.round(seconds / 60), "minute");
  if (abs < 86400) return rtf.format(Math.round(seconds / 3600), "hour");
  return rtf.format(Math.round(seconds / 86400), "day");
}

export function duration(ms) {
  if (ms % 86_400_000 === 0) return `${ms / 86_400_000} d`;
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000} h`;
  if (ms % 60_000 === 0) return `${ms / 60_000} min`;
  return `${ms / 1000} s`;
}

export function decimals(type) {
  const resolution = type?.resolution;
  if (!resolution || resolution >= 1) return 0;
  return Math.min(4, Math.ceil(-Math.log10(resolution) - 1e-9));
}

export function number(value, type) {
  return new Intl.NumberFormat(locale(), {
    minimumFractionDigits: decimals(type),
    maximumFractionDigits: decimals(type),
  }).format(value);
}

// A value as people read it: "1.42 m", "有烟雾", "-71 dBm".
export function reading(value, sensor, type) {
  if (type?.kind === "boolean") {
    const key = `bool.${sensor}.${value ? 1 : 0}`;
    const text = t(key);
    return text === key ? t(value ? "bool.on" : "bool.off") : text;
  }
  const symbol = type?.symbol ?? "";
  return symbol ? `${number(value, type)} ${symbol}` : number(value, type);
}

const DURATION_UNITS_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

export function parseDuration(text) {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)\s*$/.exec(text || "");
  return match ? Number(match[1]) * DURATION_UNITS_MS[match[2]] : null;
}
