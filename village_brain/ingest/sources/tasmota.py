"""Tasmota: `tele/<topic>/SENSOR`, `STATE` and `LWT`; `stat/<topic>/POWER` and `RESULT`.

Where the prefix and the device's topic sit is Tasmota's FullTopic template (default
`%prefix%/%topic%/`), so the source builds its subscriptions and its topic pattern from the
same template the devices use. The device's id is its Tasmota topic (`tasmota_9CF9D1`).

`Time` in a SENSOR or STATE message is the device's local time, without a zone unless the
device has SetOption52 on. A time with an offset is used as it is; one without is read in the
source's `time_zone`. A clock Tasmota itself would call unset (before 2016) means the time of
receipt: Tasmota sends live and buffers nothing, so that is the reading's time too.
"""

from __future__ import annotations

import math
import re
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec

from village_brain.core.catalog import Catalog
from village_brain.core.ids import id_problem
from village_brain.core.records import PayloadError, Problem
from village_brain.ingest.codecs.jsontext import as_float, describe, is_number, load_json
from village_brain.ingest.sources.base import DeviceReport, Translation, refused
from village_brain.ingest.sources.fields import Override
from village_brain.ingest.sources.ids import our_id
from village_brain.ingest.sources.lookup import FieldLookup, add_reading, make_lookup

NAME = "tasmota"
# Tasmota's own START_VALID_TIME: an earlier clock has not been set by NTP yet.
_CLOCK_SET_AFTER_MS = 1_451_606_400_000  # 2016-01-01T00:00:00Z
_TOKENS = frozenset(("%prefix%", "%topic%", "%hostname%", "%id%"))
_TOKEN = re.compile(r"(%[a-z]+%)")
_POWER = re.compile(r"POWER\d*")
_TEMP_UNITS = {"C": "Cel", "F": "[degF]"}
_PRESSURE_UNITS = {"hPa": "hPa", "mmHg": "mm[Hg]", "inHg": "[in_i'Hg]"}
_TEMPERATURES = frozenset(("Temperature", "DewPoint"))
_PRESSURES = frozenset(("Pressure", "SeaPressure"))
_NOT_FIELDS = frozenset(("Time", "Epoch", "TempUnit", "PressureUnit", "SpeedUnit"))
# The ESP32's own die temperature is not the air's.
_DEFAULTS: dict[str, Override] = {"ESP32.Temperature": False}


class Prefixes(msgspec.Struct, forbid_unknown_fields=True):
    """Tasmota's Prefix1 (commands), Prefix2 (status) and Prefix3 (telemetry)."""

    cmnd: str = "cmnd"
    stat: str = "stat"
    tele: str = "tele"


class Options(msgspec.Struct, forbid_unknown_fields=True):
    village: str
    full_topic: str = "%prefix%/%topic%/"
    prefixes: Prefixes = msgspec.field(default_factory=Prefixes)
    time_zone: str = "Asia/Shanghai"  # the zone of a `Time` sent without an offset
    device_time: bool = True  # false: every reading gets the time it arrives
    id_prefix: str = ""
    fields: dict[str, Override] = {}


def make(options: Options, catalog: Catalog) -> Tasmota:
    problem = id_problem("village", options.village)
    if problem:
        raise ValueError(problem)
    try:
        zone = ZoneInfo(options.time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"time_zone {options.time_zone!r} is not a known time zone: use a name such as "
            "'Asia/Shanghai'"
        ) from None
    layout = TopicLayout(options.full_topic, options.prefixes)
    return Tasmota(options, layout, zone, make_lookup(NAME, options.fields, catalog, _DEFAULTS))


class TopicLayout:
    """A FullTopic template as a topic pattern and as subscriptions."""

    def __init__(self, full_topic: str, prefixes: Prefixes) -> None:
        template = full_topic if full_topic.endswith("/") else full_topic + "/"
        _check_template(template, prefixes)
        kinds = {prefixes.cmnd: "cmnd", prefixes.stat: "stat", prefixes.tele: "tele"}
        self._kinds = kinds
        self._pattern = re.compile(_template_regex(template, list(kinds)) + "(?P<rest>.+)")
        self._filters = [
            _template_filter(template, prefix) for prefix in (prefixes.tele, prefixes.stat)
        ]

    def subscriptions(self) -> list[str]:
        return list(self._filters)

    def parse(self, topic: str) -> tuple[str, str, str] | None:
        """(kind, device topic, rest) — kind is cmnd, stat or tele — or None."""
        match = self._pattern.fullmatch(topic)
        if match is None:
            return None
        return self._kinds[match["prefix"]], match["topic"], match["rest"]


def _check_template(template: str, prefixes: Prefixes) -> None:
    unknown = sorted(set(_TOKEN.findall(template)) - _TOKENS)
    if unknown:
        raise ValueError(
            f"full_topic {template!r} has {', '.join(unknown)}: Tasmota's tokens are "
            "%prefix%, %topic%, %hostname% and %id%"
        )
    for token in ("%prefix%", "%topic%"):
        if template.count(token) != 1:
            raise ValueError(f"full_topic {template!r} must contain {token} exactly once")
    if "+" in template or "#" in template:
        raise ValueError(f"full_topic {template!r} must not contain MQTT wildcards (+ or #)")
    names = [prefixes.cmnd, prefixes.stat, prefixes.tele]
    for name in names:
        if not name or "+" in name or "#" in name:
            raise ValueError(f"prefix {name!r} must be non-empty text without + or #")
    if len(set(names)) != len(names):
        raise ValueError(f"prefixes must differ from each other, not {', '.join(names)}")


def _template_regex(template: str, prefixes: list[str]) -> str:
    parts = []
    for piece in _TOKEN.split(template):
        if piece == "%prefix%":
            parts.append("(?P<prefix>" + "|".join(map(re.escape, prefixes)) + ")")
        elif piece == "%topic%":
            parts.append("(?P<topic>[^/]+)")
        elif piece in _TOKENS:
            parts.append("[^/]+")
        else:
            parts.append(re.escape(piece))
    return "".join(parts)


def _template_filter(template: str, prefix: str) -> str:
    levels = template.replace("%prefix%", prefix).split("/")
    return "/".join("+" if "%" in level else level for level in levels) + "#"


class Tasmota:
    name = NAME

    def __init__(
        self, options: Options, layout: TopicLayout, zone: ZoneInfo, lookup: FieldLookup
    ) -> None:
        self._options = options
        self._layout = layout
        self._zone = zone
        self._lookup = lookup

    def subscriptions(self) -> list[str]:
        return self._layout.subscriptions()

    def translate(
        self, topic: str, payload: bytes, received_ms: int, content_type: str | None
    ) -> Translation:
        parsed = self._layout.parse(topic)
        if parsed is None:
            return refused(
                "bad_topic",
                f"topic {topic[:200]!r} does not fit the FullTopic {self._options.full_topic!r}",
            )
        kind, device_topic, rest = parsed
        name = rest.upper()
        if kind == "tele":
            if name in ("SENSOR", "STATE"):
                return self._telemetry(device_topic, payload)
            if name == "LWT":
                return self._lwt(device_topic, payload)
        elif kind == "stat":
            if _POWER.fullmatch(name) and not payload.lstrip().startswith(b"{"):
                return self._power(device_topic, name, payload)
            if name == "RESULT" or name.startswith("STATUS") or _POWER.fullmatch(name):
                return self._result(device_topic, payload)
        # Commands, INFO, UPTIME and the other replies carry nothing to store.
        return Translation(quiet=True)

    def _report(self, device_topic: str) -> DeviceReport:
        device = our_id(device_topic, self._options.id_prefix)
        return DeviceReport(device, self._options.village, foreign_id=device_topic)

    def _lwt(self, device_topic: str, payload: bytes) -> Translation:
        text = payload.decode("utf-8", "replace").strip()
        word = text.lower()
        if word not in ("online", "offline"):
            return refused("bad_payload", f"LWT must be Online or Offline, not {text[:40]!r}")
        report = self._report(device_topic)
        report.presence = word  # type: ignore[assignment]
        return Translation(reports=[report])

    def _power(self, device_topic: str, name: str, payload: bytes) -> Translation:
        text = payload.decode("utf-8", "replace").strip()
        report = self._report(device_topic)
        reading = self._lookup.reading((name,), text, None) if text else None
        if reading is None:  # unmapped, or an empty retained message being cleared
            report.skipped.append(name)
        else:
            report.readings.append(reading)
        return Translation(reports=[report])

    def _telemetry(self, device_topic: str, payload: bytes) -> Translation:
        message = _object(payload)
        if not isinstance(message, dict):
            return message
        report = self._report(device_topic)
        problem = self._read(message, report)
        return Translation(problems=[problem]) if problem else Translation(reports=[report])

    def _result(self, device_topic: str, payload: bytes) -> Translation:
        """A command's reply: sensor and state replies (Status 8, 10, 11, 0) are read whole;
        of any other reply only the fields the table maps (`{"POWER":"ON"}`) are kept."""
        message = _object(payload)
        if not isinstance(message, dict):
            return message
        report = self._report(device_topic)
        parts = [message[k] for k in ("StatusSNS", "StatusSTS") if isinstance(message.get(k), dict)]
        for part in parts:
            problem = self._read(part, report)
            if problem:
                return Translation(problems=[problem])
        if not parts:
            for field, raw in message.items():
                reading = self._lookup.reading((field,), raw, None)
                if reading is not None:
                    add_reading(report, reading, field)
        if not (report.readings or report.skipped):
            return Translation(quiet=True)
        return Translation(reports=[report])

    def _read(self, message: dict, report: DeviceReport) -> Problem | None:
        """Read one SENSOR or STATE object into the report; a Problem if its time is bad."""
        ts_ms = self._time(message)
        if isinstance(ts_ms, Problem):
            return ts_ms
        units = {
            "temperature": _unit(message.get("TempUnit", "C"), _TEMP_UNITS),
            "pressure": _unit(message.get("PressureUnit", "hPa"), _PRESSURE_UNITS),
        }
        for key, value in message.items():
            if key in _NOT_FIELDS:
                continue
            if isinstance(value, dict):
                self._read_sensor(key, value, ts_ms, units, report)
            else:
                self._add(key, key, (key,), value, ts_ms, units, report)
        return None

    def _read_sensor(
        self,
        key: str,
        sensor: dict,
        ts_ms: int | None,
        units: dict[str, str],
        report: DeviceReport,
    ) -> None:
        one_wire_id = sensor.get("Id")
        model = key.partition("-")[0]
        for field, raw in sensor.items():
            if field == "Id":
                continue
            names = [f"{key}.{field}", f"{model}.{field}", field]
            if model == key:
                del names[1]
            if isinstance(one_wire_id, str) and one_wire_id:
                names.insert(0, f"{one_wire_id}.{field}")
            if isinstance(raw, dict):  # deeper than Tasmota nests readings
                report.skipped.append(f"{key}.{field}")
                continue
            self._add(f"{key}.{field}", field, names, raw, ts_ms, units, report)

    def _add(
        self,
        shown: str,
        field: str,
        names: list[str] | tuple[str, ...],
        raw: object,
        ts_ms: int | None,
        units: dict[str, str],
        report: DeviceReport,
    ) -> None:
        reading = None if raw is None else self._lookup.reading(names, raw, ts_ms)
        if reading is None:  # unmapped, or null: a sensor that failed to read
            report.skipped.append(shown)
            return
        # The device's own unit markers say what its temperatures and pressures are in.
        if field in _TEMPERATURES:
            reading = msgspec.structs.replace(reading, unit=units["temperature"])
        elif field in _PRESSURES:
            reading = msgspec.structs.replace(reading, unit=units["pressure"])
        add_reading(report, reading, shown)

    def _time(self, message: dict) -> int | Problem | None:
        if not self._options.device_time:
            return None
        epoch = message.get("Epoch")
        if is_number(epoch):
            return _clock_ms(epoch)  # type: ignore[arg-type]
        raw = message.get("Time")
        if raw is None:
            return None
        if not isinstance(raw, str):
            return Problem("bad_timestamp", f"'Time' is {describe(raw)}, not a time")
        try:
            parsed = datetime.fromisoformat(raw)
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=self._zone)
            return _clock_ms(parsed.timestamp())
        except (ValueError, OverflowError):
            return Problem(
                "bad_timestamp",
                f"'Time' {raw[:40]!r} is not a time such as 2026-11-29T16:00:00; "
                "or set device_time = false to use the time of receipt",
            )


def _object(payload: bytes) -> dict | Translation:
    try:
        message = load_json(payload)
    except PayloadError as exc:
        return refused(exc.reason, exc.detail)
    if not isinstance(message, dict):
        detail = f"a Tasmota message must be a JSON object, not {describe(message)}"
        return refused("bad_payload", detail)
    return message


def _unit(marker: object, known: dict[str, str]) -> str:
    """Our unit for a Tasmota unit marker; an unknown one is passed on for the validator to
    refuse by name."""
    text = str(marker)[:16]
    return known.get(text, text)


def _clock_ms(seconds: float) -> int | None:
    """Epoch seconds as milliseconds; None while the clock is unset, or for no usable time."""
    ms = as_float(seconds) * 1000
    return round(ms) if math.isfinite(ms) and ms >= _CLOCK_SET_AFTER_MS else None
