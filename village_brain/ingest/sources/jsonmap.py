"""Generic JSON mapping: a family no other adapter knows, described in the configuration.

A 4G data logger, a vendor gateway or a home-made board publishes JSON on its own topics. The
source says where things are: a topic pattern with named levels (`farm/{village}/{device}/up`
is subscribed to as `farm/+/+/up` and read back into its parts), and per sensor type a
JMESPath expression over the payload (jmespath.org), with an optional unit and scale. The
device may come from the topic, from the payload (`device_path`) or be fixed; the village from
the topic or fixed. Expressions are compiled once, so a mistake in one is a configuration
error naming the sensor, never a surprise at the first message.
"""

from __future__ import annotations

import math
import re
from typing import Literal

import jmespath
import jmespath.exceptions
import msgspec

from village_brain.core.catalog import Catalog
from village_brain.core.ids import id_problem
from village_brain.core.records import PayloadError, Problem
from village_brain.core.timefmt import parse_rfc3339_ms
from village_brain.ingest.codecs.jsontext import describe, load_json
from village_brain.ingest.sources.base import DeviceReport, Translation, refused
from village_brain.ingest.sources.fields import FieldRule, FieldTable
from village_brain.ingest.sources.ids import our_id

NAME = "jsonmap"
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_NAMES = ("village", "device")
_FACTORS = {"ms": 1, "s": 1000}


class SensorPath(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    path: str  # JMESPath over the payload
    unit: str | None = None  # the unit the device sends; the catalog converts it
    scale: float = 1.0  # applied before the unit conversion, for values sent in steps


class TimestampOptions(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    path: str
    format: Literal["ms", "s", "rfc3339"] = "ms"


class PresenceOptions(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    topic: str  # a pattern like the data topic's: `dtu/{device}/status`
    online: list[str] = msgspec.field(default_factory=lambda: ["online"])
    offline: list[str] = msgspec.field(default_factory=lambda: ["offline"])
    path: str | None = None  # where the word is in a JSON payload; None: the payload is it


class Options(msgspec.Struct, forbid_unknown_fields=True):
    topic: str
    sensors: dict[str, str | SensorPath]
    village: str | None = None  # when the topic has no {village}
    device: str | None = None  # one fixed device, when neither topic nor payload names it
    device_path: str | None = None  # JMESPath to the device id in the payload
    id_prefix: str = ""
    timestamp: TimestampOptions | None = None
    presence: PresenceOptions | None = None


class TopicPattern:
    """A topic with `{village}` and `{device}` levels, as an MQTT filter and a parser."""

    def __init__(self, pattern: str, option: str) -> None:
        self.pattern = pattern
        self.filter, regex, self.names = _compile_pattern(pattern, option)
        self._regex = re.compile(regex)

    def match(self, topic: str) -> dict[str, str] | None:
        found = self._regex.fullmatch(topic)
        return found.groupdict() if found else None


def make(options: Options, catalog: Catalog) -> JsonMap:
    for name, value in (("village", options.village), ("device", options.device)):
        problem = id_problem(name, value) if value is not None else None
        if problem:
            raise ValueError(problem)
    topic = TopicPattern(options.topic, "topic")
    _one_source(topic, options)
    if not options.sensors:
        raise ValueError("sensors is empty: map at least one sensor type to a payload path")
    sensors = {sensor: _sensor(sensor, spec, catalog) for sensor, spec in options.sensors.items()}
    table = FieldTable({sensor: rule for sensor, (rule, _) in sensors.items()})
    paths = {sensor: path for sensor, (_, path) in sensors.items()}
    device_path = _expression(options.device_path, "device_path") if options.device_path else None
    timestamp = _expression(options.timestamp.path, "timestamp.path") if options.timestamp else None
    presence = _presence(options) if options.presence else None
    return JsonMap(options, topic, table, paths, device_path, timestamp, presence)


class _Presence(msgspec.Struct, frozen=True):
    topic: TopicPattern
    online: frozenset[str]
    offline: frozenset[str]
    path: jmespath.parser.ParsedResult | None


class JsonMap:
    name = NAME

    def __init__(
        self,
        options: Options,
        topic: TopicPattern,
        table: FieldTable,
        paths: dict[str, jmespath.parser.ParsedResult],
        device_path: jmespath.parser.ParsedResult | None,
        timestamp: jmespath.parser.ParsedResult | None,
        presence: _Presence | None,
    ) -> None:
        self._options = options
        self._topic = topic
        self._table = table
        self._paths = paths
        self._device_path = device_path
        self._timestamp = timestamp
        self._presence = presence

    def subscriptions(self) -> list[str]:
        filters = [self._topic.filter]
        if self._presence and self._presence.topic.filter not in filters:
            filters.append(self._presence.topic.filter)
        return filters

    def translate(
        self, topic: str, payload: bytes, received_ms: int, content_type: str | None
    ) -> Translation:
        if self._presence is not None:
            levels = self._presence.topic.match(topic)
            if levels is not None:
                return self._presence_message(levels, payload)
        levels = self._topic.match(topic)
        if levels is None:
            detail = f"topic {topic[:200]!r} does not match {self._topic.pattern!r}"
            return refused("bad_topic", detail)
        village = self._village(levels)
        if isinstance(village, Problem):
            return Translation(problems=[village])
        try:
            document = load_json(payload)
        except PayloadError as exc:
            return refused(exc.reason, exc.detail)
        foreign = self._foreign_id(levels, document)
        if isinstance(foreign, Problem):
            return Translation(problems=[foreign])
        ts_ms = self._reading_time(document)
        if isinstance(ts_ms, Problem):
            return Translation(problems=[ts_ms])
        report = DeviceReport(our_id(foreign, self._options.id_prefix), village, foreign)
        for sensor, path in self._paths.items():
            self._read(sensor, path, document, ts_ms, report)
        return Translation(reports=[report])

    def _village(self, levels: dict[str, str]) -> str | Problem:
        village = levels.get("village") or self._options.village or ""
        problem = id_problem("village", village)
        return Problem("bad_topic", problem) if problem else village

    def _foreign_id(self, levels: dict[str, str], document: object) -> str | Problem:
        if "device" in levels:
            return levels["device"]
        if self._device_path is None:
            return self._options.device or ""
        found = _search(self._device_path, document)
        if isinstance(found, str) and found.strip():
            return found.strip()
        if type(found) is int:
            return str(found)
        detail = (
            f"device_path {self._options.device_path!r} found {_found(found)} "
            "in the payload, not a device id"
        )
        return Problem("bad_payload", detail)

    def _reading_time(self, document: object) -> int | Problem | None:
        if self._timestamp is None or self._options.timestamp is None:
            return None
        raw = _search(self._timestamp, document)
        if raw is None:
            return None  # no time in this message: the time of receipt
        return _epoch_ms(raw, self._options.timestamp)

    def _read(
        self,
        sensor: str,
        path: jmespath.parser.ParsedResult,
        document: object,
        ts_ms: int | None,
        report: DeviceReport,
    ) -> None:
        found = _search(path, document)
        if found is None:
            report.skipped.append(sensor)  # not in this message: a heartbeat, another packet
        elif isinstance(found, Problem):
            detail = f"sensors.{sensor}: {found.detail}"
            report.problems.append(Problem("wrong_type", detail, sensor))
        elif isinstance(found, dict | list):
            detail = f"sensors.{sensor}: {path.expression!r} found {describe(found)}, not a value"
            report.problems.append(Problem("wrong_type", detail, sensor))
        else:
            reading = self._table.reading(sensor, found, ts_ms)
            assert reading is not None  # every sensor has a rule in the table
            report.readings.append(reading)

    def _presence_message(self, levels: dict[str, str], payload: bytes) -> Translation:
        assert self._presence is not None
        village = self._village(levels)
        if isinstance(village, Problem):
            return Translation(problems=[village])
        if self._presence.path is None:
            word = payload.decode("utf-8", "replace").strip()
        else:
            try:
                document = load_json(payload)
            except PayloadError as exc:
                return refused(exc.reason, exc.detail)
            found = _search(self._presence.path, document)
            word = _word(found) if found is not None and not isinstance(found, Problem) else ""
        state = word.lower()
        if state not in self._presence.online and state not in self._presence.offline:
            known = sorted(self._presence.online | self._presence.offline)
            detail = f"presence must be one of {', '.join(known)}, not {word[:40]!r}"
            return refused("bad_payload", detail)
        foreign = levels.get("device") or self._options.device or ""
        report = DeviceReport(our_id(foreign, self._options.id_prefix), village, foreign)
        report.presence = "online" if state in self._presence.online else "offline"
        return Translation(reports=[report])


def _compile_pattern(pattern: str, option: str) -> tuple[str, str, tuple[str, ...]]:
    """The MQTT filter, the regular expression and the placeholder names of a pattern."""
    if not pattern:
        raise ValueError(f"{option} is empty")
    levels = pattern.split("/")
    filters, parts, names = [], [], []
    for position, level in enumerate(levels):
        if level == "#":
            if position != len(levels) - 1:
                raise ValueError(f"{option} {pattern!r}: # may only be the last level")
            filters.append("#")
            continue
        if level == "+":
            filters.append("+")
            parts.append("[^/]*")
            continue
        placeholders = _PLACEHOLDER.findall(level)
        literal = _PLACEHOLDER.sub("", level)
        if "{" in literal or "}" in literal:
            raise ValueError(f"{option} {pattern!r}: level {level!r} has an unmatched brace")
        if "+" in literal or "#" in literal:
            raise ValueError(
                f"{option} {pattern!r}: level {level!r} mixes + or # with text; "
                "a wildcard must be a whole level"
            )
        if len(placeholders) > 1:
            raise ValueError(f"{option} {pattern!r}: level {level!r} has more than one {{name}}")
        if not placeholders:
            filters.append(level)
            parts.append(re.escape(level))
            continue
        name = placeholders[0]
        if name not in _NAMES:
            raise ValueError(
                f"{option} {pattern!r}: {{{name}}} is not one of {{village}}, {{device}}; "
                "write + for a level to ignore"
            )
        if name in names:
            raise ValueError(f"{option} {pattern!r}: {{{name}}} appears twice")
        names.append(name)
        before, _, after = level.partition("{" + name + "}")
        filters.append("+")
        parts.append(f"{re.escape(before)}(?P<{name}>[^/]+){re.escape(after)}")
    regex = "/".join(parts)
    if filters[-1] == "#":
        regex = regex + "(?:/.*)?" if parts else ".*"
    return "/".join(filters), regex, tuple(names)


def _one_source(topic: TopicPattern, options: Options) -> None:
    villages = ["{village} in the topic"] * ("village" in topic.names)
    villages += ["village"] * (options.village is not None)
    devices = ["{device} in the topic"] * ("device" in topic.names)
    devices += ["device_path"] * (options.device_path is not None)
    devices += ["device"] * (options.device is not None)
    if len(villages) != 1:
        raise ValueError(
            "give the village either as {village} in the topic or as the village option"
            + (f", not both ({' and '.join(villages)})" if villages else "")
        )
    if len(devices) != 1:
        raise ValueError(
            "give the device in one way: {device} in the topic, device_path or device"
            + (f", not several ({', '.join(devices)})" if devices else "")
        )


def _sensor(
    sensor: str, spec: str | SensorPath, catalog: Catalog
) -> tuple[FieldRule, jmespath.parser.ParsedResult]:
    rule = SensorPath(path=spec) if isinstance(spec, str) else spec
    where = f"sensors.{sensor}"
    sensor_type = catalog.get(sensor)
    if sensor_type is None:
        raise ValueError(f"{where}: {sensor!r} is not a sensor type in the catalog")
    if sensor_type.kind == "number" and sensor_type.conversion(rule.unit) is None:
        accepted = ", ".join([sensor_type.unit, *sensor_type.aliases, *sensor_type.units])
        unit = f"{rule.unit!r}"
        raise ValueError(f"{where}: {sensor} cannot be converted from {unit}; it takes {accepted}")
    if not math.isfinite(rule.scale) or rule.scale == 0:
        raise ValueError(f"{where}: scale must be a finite number other than 0")
    field_rule = FieldRule(sensor=sensor, unit=rule.unit, scale=rule.scale)
    return field_rule, _expression(rule.path, where)


def _presence(options: Options) -> _Presence:
    assert options.presence is not None
    topic = TopicPattern(options.presence.topic, "presence.topic")
    if "device" not in topic.names and options.device is None:
        raise ValueError("presence.topic must have a {device} level (or set a fixed device)")
    if "village" not in topic.names and options.village is None:
        raise ValueError("presence.topic must have a {village} level (or set village)")
    if options.village is not None and "village" in topic.names:
        raise ValueError("presence.topic has {village} but the village option fixes it")
    online = frozenset(w.strip().lower() for w in options.presence.online)
    offline = frozenset(w.strip().lower() for w in options.presence.offline)
    if not online or not offline or "" in online | offline:
        raise ValueError("presence.online and presence.offline each need at least one word")
    if online & offline:
        raise ValueError(f"presence words {sorted(online & offline)} are both online and offline")
    path = _expression(options.presence.path, "presence.path") if options.presence.path else None
    return _Presence(topic, online, offline, path)


def _expression(text: str, where: str) -> jmespath.parser.ParsedResult:
    try:
        return jmespath.compile(text)
    except jmespath.exceptions.JMESPathError as exc:
        reason = " ".join(str(exc).split())
        raise ValueError(f"{where}: {text!r} is not a JMESPath expression: {reason}") from None


def _search(path: jmespath.parser.ParsedResult, document: object) -> object:
    """What a path finds; a Problem when its functions cannot work on this payload."""
    try:
        return path.search(document)
    except jmespath.exceptions.JMESPathError as exc:
        detail = f"{path.expression!r} does not fit this payload: {' '.join(str(exc).split())}"
        return Problem("wrong_type", detail[:300])


def _epoch_ms(raw: object, options: TimestampOptions) -> int | Problem:
    where = f"timestamp {options.path!r}"
    if options.format == "rfc3339":
        if not isinstance(raw, str):
            return Problem("bad_timestamp", f"{where} is {_found(raw)}, not an RFC 3339 time")
        try:
            return parse_rfc3339_ms(raw)
        except ValueError as exc:
            return Problem("bad_timestamp", f"{where}: {exc}")
    number: int | float
    if type(raw) is int:
        number = raw
    elif type(raw) is float or (isinstance(raw, str) and raw.strip()):
        try:
            number = float(raw)  # type: ignore[arg-type]
        except ValueError:
            number = math.nan
    else:
        number = math.nan
    if not math.isfinite(number):
        unit = "milliseconds" if options.format == "ms" else "seconds"
        return Problem("bad_timestamp", f"{where} is {_found(raw)}, not epoch {unit}")
    return round(number * _FACTORS[options.format])


def _word(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | str):
        return str(value)
    return ""


def _found(value: object) -> str:
    if isinstance(value, Problem):
        return value.detail
    return "nothing" if value is None else describe(value)
