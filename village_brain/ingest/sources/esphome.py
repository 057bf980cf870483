"""ESPHome's MQTT component: one plain-text value per topic, and `<prefix>/status` presence.

A node publishes `<prefix>/sensor/<object id>/state` (a number as text), `.../binary_sensor/...`
and `.../switch/...` (`ON`/`OFF`), under a topic prefix that defaults to its name and may have
several levels; the topic is read from its known end. `nan` (or `None`, with
`publish_nan_as_none`) is a sensor that could not read: no value, so it is skipped, not
refused. The messages carry no time, so readings get the time of receipt.

Entities that take commands (control/downlinks/esphome.py) are read too: a light's JSON state
(`<prefix>/light/<object id>/state`, its `state` ON/OFF) and a cover's position
(`<prefix>/cover/<object id>/position/state`, 0 to 100). `controls` names the entity that
carries each commanded type (`lamp_state = "light/street_lamp"`); its state is that type.
"""

from __future__ import annotations

import math

import msgspec

from village_brain.core.catalog import Catalog
from village_brain.core.ids import id_problem
from village_brain.core.records import Value
from village_brain.ingest.sources.base import DeviceReport, Translation, refused
from village_brain.ingest.sources.fields import Override, load_table
from village_brain.ingest.sources.ids import our_id
from village_brain.ingest.sources.lookup import FieldLookup, make_lookup
from village_brain.ingest.sources.prefixes import PrefixPatterns

NAME = "esphome"
_COMPONENTS = ("sensor", "binary_sensor", "switch")
_MISSING = frozenset(("", "nan", "none", "-nan"))
CONTROL_COMPONENTS = ("switch", "light", "cover")


class Options(msgspec.Struct, forbid_unknown_fields=True):
    village: str
    # Topic prefixes of the nodes; `+` is any one level. The default reads every node that
    # kept ESPHome's default prefix, its own name.
    prefixes: list[str] = msgspec.field(default_factory=lambda: ["+"])
    id_prefix: str = ""
    fields: dict[str, Override] = {}
    # Commanded sensor type → "<switch|light|cover>/<object id>" of the entity that does it;
    # a type not named here goes to the switch (on/off) or cover (a position) of its own name.
    controls: dict[str, str] = {}


def make(options: Options, catalog: Catalog) -> EspHome:
    problem = id_problem("village", options.village) or _controls_problem(options.controls)
    if problem:
        raise ValueError(problem)
    shipped = load_table(NAME, {}, catalog)
    # An entity named after a sensor type is that type, and so is the one a control names.
    by_type: dict[str, Override] = {t: t for t in catalog.types if t not in shipped}
    by_type |= {entity.partition("/")[2]: target for target, entity in options.controls.items()}
    lookup = make_lookup(NAME, options.fields, catalog, by_type)
    return EspHome(options, PrefixPatterns(options.prefixes), lookup)


class EspHome:
    name = NAME

    def __init__(self, options: Options, prefixes: PrefixPatterns, lookup: FieldLookup) -> None:
        self._options = options
        self._prefixes = prefixes
        self._lookup = lookup

    def subscriptions(self) -> list[str]:
        filters = [f"{component}/+/state" for component in _COMPONENTS] + ["status"]
        filters += ["light/+/state", "cover/+/position/state"]
        return [topic for suffix in filters for topic in self._prefixes.filters(suffix)]

    def translate(
        self, topic: str, payload: bytes, received_ms: int, content_type: str | None
    ) -> Translation:
        levels = topic.split("/")
        if len(levels) >= 2 and levels[-1] == "status":
            report = self._report("/".join(levels[:-1]))
            return self._status(report, payload) if report else self._bad_topic(topic)
        if len(levels) >= 5 and levels[-4] == "cover" and levels[-2:] == ["position", "state"]:
            report = self._report("/".join(levels[:-4]))
            if report is None:
                return self._bad_topic(topic)
            return self._state(report, "sensor", levels[-3], payload)
        if len(levels) >= 4 and levels[-1] == "state" and levels[-3] == "light":
            report = self._report("/".join(levels[:-3]))
            if report is None:
                return self._bad_topic(topic)
            return self._state(report, "light", levels[-2], _light_state(payload))
        if len(levels) >= 4 and levels[-1] == "state" and levels[-3] in _COMPONENTS:
            report = self._report("/".join(levels[:-3]))
            if report is None:
                return self._bad_topic(topic)
            return self._state(report, levels[-3], levels[-2], payload)
        return self._bad_topic(topic)

    def _report(self, prefix: str) -> DeviceReport | None:
        node = self._prefixes.device(prefix)
        if node is None:
            return None
        device = our_id(node, self._options.id_prefix)
        return DeviceReport(device, self._options.village, foreign_id=node)

    def _bad_topic(self, topic: str) -> Translation:
        detail = (
            f"topic {topic[:200]!r} is not <prefix>/<sensor|binary_sensor|switch|light>/<name>"
            "/state, <prefix>/cover/<name>/position/state or <prefix>/status under one of the "
            "prefixes this source reads"
        )
        return refused("bad_topic", detail)

    def _status(self, report: DeviceReport, payload: bytes) -> Translation:
        text = payload.decode("utf-8", "replace").strip()
        word = text.lower()
        if word not in ("online", "offline"):
            return refused("bad_payload", f"status must be online or offline, not {text[:40]!r}")
        report.presence = word  # type: ignore[assignment]
        return Translation(reports=[report])

    def _state(
        self, report: DeviceReport, component: str, object_id: str, payload: bytes
    ) -> Translation:
        text = payload.decode("utf-8", "replace").strip()
        value = _value(text) if component == "sensor" else (text or None)
        names = (f"{report.foreign_id}/{object_id}", object_id)
        reading = None if value is None else self._lookup.reading(names, value, None)
        if reading is None:  # unmapped, or a sensor that could not read
            report.skipped.append(object_id)
        else:
            report.readings.append(reading)
        return Translation(reports=[report])


def _value(text: str) -> Value | None:
    """A sensor state: a number, None when the sensor had none, or the text for the validator
    to refuse by name."""
    if text.lower() in _MISSING:
        return None
    try:
        number = float(text)
    except ValueError:
        return text[:64]
    return None if math.isnan(number) else number


def _light_state(payload: bytes) -> bytes:
    """ON or OFF from a light's JSON state; anything else as it came, for the validator."""
    try:
        state = msgspec.json.decode(payload)
    except msgspec.DecodeError:
        return payload
    word = state.get("state") if isinstance(state, dict) else None
    return word.encode() if isinstance(word, str) else payload


def _controls_problem(controls: dict[str, str]) -> str | None:
    for target, entity in controls.items():
        component, _, object_id = entity.partition("/")
        if component not in CONTROL_COMPONENTS or not object_id or "/" in object_id:
            return (
                f"controls.{target} is {entity!r}: write <switch|light|cover>/<object id>, "
                "e.g. light/street_lamp"
            )
    return None
