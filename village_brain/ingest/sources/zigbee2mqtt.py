"""Zigbee2MQTT: `<base>/<friendly name>` JSON states and `<name>/availability` presence.

Friendly names may contain `/`, so a topic is read from its end: a last level of
`availability` is presence, `set`/`get` are commands to the device (ours to ignore), and
everything else between the base topic and the end is the friendly name.
"""

from __future__ import annotations

import msgspec

from village_brain.core.catalog import Catalog
from village_brain.core.ids import id_problem
from village_brain.core.records import PayloadError, Problem, RawReading
from village_brain.core.timefmt import parse_rfc3339_ms
from village_brain.ingest.codecs.jsontext import describe, load_json
from village_brain.ingest.sources.base import (
    DeviceReport,
    EventReport,
    Translation,
    refused,
)
from village_brain.ingest.sources.fields import FieldTable, Override, load_table
from village_brain.ingest.sources.ids import our_id

NAME = "zigbee2mqtt"
# A payload with any of these comes from a plug, whose `voltage` is the mains in volts.
_MAINS_KEYS = frozenset(("power", "current", "energy"))
_COMMANDS = frozenset(("set", "get"))


class Options(msgspec.Struct, forbid_unknown_fields=True):
    village: str
    base_topic: str = "zigbee2mqtt"
    id_prefix: str = ""
    fields: dict[str, Override] = {}


def make(options: Options, catalog: Catalog) -> Zigbee2Mqtt:
    problem = id_problem("village", options.village)
    if problem:
        raise ValueError(problem)
    return Zigbee2Mqtt(options, load_table(NAME, options.fields, catalog))


class Zigbee2Mqtt:
    name = NAME

    def __init__(self, options: Options, table: FieldTable) -> None:
        self._options = options
        self._base = options.base_topic.rstrip("/") + "/"
        self._table = table

    def subscriptions(self) -> list[str]:
        return [self._base + "#"]

    def translate(
        self, topic: str, payload: bytes, received_ms: int, content_type: str | None
    ) -> Translation:
        rest = topic.removeprefix(self._base)
        if rest == topic or not rest:
            return refused("bad_topic", f"topic {topic[:200]!r} is not under {self._base}")
        if rest == "bridge" or rest.startswith("bridge/"):
            return Translation(quiet=True)  # the bridge's own state, logs and device lists
        name, _, last = rest.rpartition("/")
        if last == "availability" and name:
            return self._availability(name, payload)
        if last in _COMMANDS or "/set/" in rest:
            return Translation(quiet=True)
        return self._state(rest, payload)

    def _report(self, friendly_name: str) -> DeviceReport:
        device = our_id(friendly_name, self._options.id_prefix)
        return DeviceReport(device, self._options.village, foreign_id=friendly_name)

    def _availability(self, friendly_name: str, payload: bytes) -> Translation:
        text = payload.decode("utf-8", "replace").strip()
        if text.startswith("{"):  # Zigbee2MQTT 2.x: {"state": "online"}
            try:
                state = load_json(payload)
            except PayloadError as exc:
                return refused(exc.reason, exc.detail)
            text = state.get("state", "") if isinstance(state, dict) else ""
        word = str(text).lower()
        if word not in ("online", "offline"):
            detail = f"availability must be online or offline, not {text[:40]!r}"
            return refused("bad_payload", detail)
        report = self._report(friendly_name)
        report.presence = word  # type: ignore[assignment]
        return Translation(reports=[report])

    def _state(self, friendly_name: str, payload: bytes) -> Translation:
        try:
            state = load_json(payload)
        except PayloadError as exc:
            return refused(exc.reason, exc.detail)
        if not isinstance(state, dict):
            detail = (
                f"a device state must be a JSON object, not {describe(state)}; "
                "set Zigbee2MQTT's advanced.output to json"
            )
            return refused("bad_payload", detail)
        ts_ms = _last_seen(state.get("last_seen"))
        if isinstance(ts_ms, Problem):
            return Translation(problems=[ts_ms])
        report = self._report(friendly_name)
        self._readings(state, ts_ms, report)
        action = state.get("action")
        if isinstance(action, str) and action:
            report.event = EventReport(our_id(action), ts_ms, {"action": action})
        return Translation(reports=[report])

    def _readings(self, state: dict, ts_ms: int | None, report: DeviceReport) -> None:
        mains = not _MAINS_KEYS.isdisjoint(state)
        lux_given = "illuminance_lux" in state  # then `illuminance` is the raw ZCL value
        for field, raw in state.items():
            if field in ("last_seen", "action") or (field == "illuminance" and lux_given):
                continue
            reading = self._table.reading(field, raw, ts_ms)
            if reading is None:
                report.skipped.append(field)
            elif field == "voltage" and mains:
                report.readings.append(RawReading("mains_voltage", reading.value, "V", ts_ms))
            else:
                report.readings.append(reading)


def _last_seen(raw: object) -> int | Problem | None:
    """The reading time Zigbee2MQTT gives with `advanced.last_seen`: epoch ms or ISO 8601."""
    if raw is None:
        return None
    if type(raw) is int:
        return raw
    if isinstance(raw, str):
        try:
            return parse_rfc3339_ms(raw)
        except ValueError as exc:
            return Problem("bad_timestamp", f"'last_seen': {exc}")
    return Problem("bad_timestamp", f"'last_seen' is {describe(raw)}, not a time")
