"""Home Assistant MQTT discovery: learn entities from their configs, then read their states.

Devices that speak to Home Assistant (ESPHome, Tasmota, Zigbee2MQTT, EMS-ESP, …) announce
each entity with a retained config on `<prefix>/<component>/[<node_id>/]<object_id>/config`
saying where its state is published, how to pick the value out (`value_template`), its unit
and device class, and where availability is announced. The adapter keeps what it learnt:
a config is answered with the topics to subscribe to, and later messages on those topics
become readings and presence. An empty config forgets the entity, as in Home Assistant.

Device class and unit choose the sensor type through fields/homeassistant.toml; a source's
`entities` option maps or ignores single entities. Entity-level problems (an unsupported
template, a unit the catalog cannot convert, a sensor type the device already has) are
reported once, when the entity is announced, not at every state message.
"""

from __future__ import annotations

import tomllib
from importlib import resources

import msgspec

from village_brain.core.catalog import Catalog
from village_brain.core.ids import id_problem
from village_brain.core.records import PayloadError, Problem, RawReading, Value
from village_brain.ingest.codecs.jsontext import describe, load_json
from village_brain.ingest.sources.base import DeviceReport, Translation, refused
from village_brain.ingest.sources.fields import FieldRule, Override
from village_brain.ingest.sources.hadiscovery import (
    DeviceConfig,
    EntityConfig,
    Identity,
    config_identity,
    entity_configs,
    topic_problem,
)
from village_brain.ingest.sources.hatemplate import (
    TemplateValueError,
    UnsupportedTemplate,
    ValueTemplate,
    compile_template,
    jinja_text,
)
from village_brain.ingest.sources.ids import our_id

NAME = "homeassistant"
_MAX_AVAILABILITY = 8
_NO_VALUE = frozenset(("", "none", "unknown", "unavailable"))  # states that carry no value


class Options(msgspec.Struct, forbid_unknown_fields=True):
    village: str
    discovery_prefix: str = "homeassistant"
    id_prefix: str = ""
    max_entities: int = 1000
    # unique_id, object_id or the config topic's `node_id/object_id` → a sensor type, a
    # table with sensor/unit/scale, or false to ignore the entity.
    entities: dict[str, Override] = {}


class _Rule(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    device_class: list[str]
    sensor: str
    component: str = "sensor"
    units: list[str] = []
    words: list[str] = []


class _Table(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    rule: list[_Rule]
    units: dict[str, str] = {}
    open_when_on: list[str] = []


_Key = tuple[str, str]  # (config topic, component key within a device config, or "")


class _Availability(msgspec.Struct, frozen=True):
    topic: str
    available: str
    not_available: str
    template: ValueTemplate | None


class _Binary(msgspec.Struct, frozen=True):
    on: str
    off: str
    invert: bool


class _Entity(msgspec.Struct, frozen=True):
    key: _Key
    label: str
    device: str
    state_topic: str
    sensor: str
    unit: str | None
    scale: float
    template: ValueTemplate | None
    binary: _Binary | None
    availability: tuple[_Availability, ...]
    mode: str

    def topics(self) -> list[str]:
        return [self.state_topic, *(a.topic for a in self.availability)]


class _Device(msgspec.Struct):
    identifier: str  # the family's own id, shown when the device has no name
    name: str | None = None
    entities: dict[_Key, str] = {}  # entity → its sensor type
    available: dict[str, bool] = {}  # availability topic → last word heard on it

    @property
    def foreign_id(self) -> str:
        return self.name or self.identifier


def make(options: Options, catalog: Catalog) -> HomeAssistant:
    problem = id_problem("village", options.village)
    if problem:
        raise ValueError(problem)
    if options.max_entities < 1:
        raise ValueError("max_entities must be at least 1")
    if not options.discovery_prefix.strip("/"):
        raise ValueError("discovery_prefix must not be empty")
    overrides = {}
    for key, override in options.entities.items():
        if override is True:
            raise ValueError(f"entities.{key} = true means nothing: name a sensor type or false")
        rule = FieldRule(sensor=override) if isinstance(override, str) else override
        if isinstance(rule, FieldRule) and catalog.get(rule.sensor) is None:
            raise ValueError(f"entities.{key} maps to {rule.sensor!r}, which is not in the catalog")
        overrides[key] = rule
    return HomeAssistant(options, _load_table(catalog), overrides, catalog)


def _load_table(catalog: Catalog) -> _Table:
    text = resources.files(__package__).joinpath(f"fields/{NAME}.toml").read_text("utf-8")
    table = msgspec.convert(tomllib.loads(text), _Table)
    for rule in table.rule:
        if catalog.get(rule.sensor) is None:
            raise ValueError(f"{NAME} field table names {rule.sensor!r}, not in the catalog")
    return table


class HomeAssistant:
    name = NAME

    def __init__(
        self,
        options: Options,
        table: _Table,
        overrides: dict[str, FieldRule | bool],
        catalog: Catalog,
    ) -> None:
        self._options = options
        self._prefix = options.discovery_prefix.strip("/") + "/"
        self._table = table
        self._overrides = overrides
        self._catalog = catalog
        self._entities: dict[_Key, _Entity] = {}
        self._by_state: dict[str, dict[_Key, None]] = {}
        self._by_availability: dict[str, dict[_Key, None]] = {}
        self._devices: dict[str, _Device] = {}
        self._by_config: dict[str, dict[_Key, None]] = {}  # config topic → its entities

    def subscriptions(self) -> list[str]:
        return [self._prefix + "+/+/config", self._prefix + "+/+/+/config"]

    def translate(
        self, topic: str, payload: bytes, received_ms: int, content_type: str | None
    ) -> Translation:
        identity = config_identity(self._prefix, topic)
        if identity is not None:
            return self._config(topic, identity, payload)
        if topic in self._by_state or topic in self._by_availability:
            return self._state(topic, payload)
        # Home Assistant's own status, or a topic of an entity since forgotten.
        return Translation(quiet=True)

    # --- configs -------------------------------------------------------------------------

    def _config(self, topic: str, identity: Identity, payload: bytes) -> Translation:
        if not payload.strip():
            self._forget_config(topic)
            return Translation(quiet=True)
        try:
            raw = load_json(payload)
        except PayloadError as exc:
            return refused(exc.reason, exc.detail)
        if not isinstance(raw, dict):
            detail = f"a discovery config must be a JSON object, not {describe(raw)}"
            return refused("bad_payload", detail)
        entries = entity_configs(identity, raw)
        if isinstance(entries, Problem):
            return Translation(problems=[entries])
        if not entries:
            return Translation(quiet=True)  # a migration notice: the entities stay as they are
        self._forget_config(topic)
        translation = Translation()
        for component_key, entry_identity, entry in entries:
            self._learn((topic, component_key), entry_identity, entry, translation)
        translation.quiet = not translation.reports and not translation.problems
        return translation

    def _learn(self, key: _Key, identity: Identity, raw: dict, translation: Translation) -> None:
        label = f"entity {identity.component} {identity.path}"
        try:
            config = msgspec.convert(raw, EntityConfig)
        except msgspec.ValidationError as exc:
            translation.problems.append(Problem("bad_payload", f"{label}: {exc}"))
            return
        device, identifier = self._device_id(config, identity)
        report = DeviceReport(device, self._options.village, foreign_id=identifier)
        if config.device is not None and config.device.name:
            report.foreign_id = config.device.name
        elif device in self._devices:
            report.foreign_id = self._devices[device].foreign_id
        rule = self._rule(config, identity)
        if rule is False:
            return  # ignored by the source's `entities` option
        if rule is None:
            report.skipped.append(f"{identity.component} {identity.path}")
            translation.reports.append(report)
            return
        entity = self._entity(key, label, device, config, identity, rule)
        if isinstance(entity, Problem):
            report.problems.append(entity)
            translation.reports.append(report)
            return
        problem = self._room_for(entity)
        if problem is not None:
            report.problems.append(problem)
            translation.reports.append(report)
            return
        self._remember(entity, identifier, config.device)
        for topic in entity.topics():
            if topic not in translation.subscribe:
                translation.subscribe.append(topic)

    def _device_id(self, config: EntityConfig, identity: Identity) -> tuple[str, str]:
        identifiers = config.device.identifiers if config.device else None
        if isinstance(identifiers, list):
            identifiers = identifiers[0] if identifiers else None
        identifier = str(identifiers) if identifiers not in (None, "") else ""
        if not identifier:
            node, _, _ = identity.path.rpartition("/")
            identifier = node or identity.path
        return our_id(identifier, self._options.id_prefix), identifier

    def _rule(self, config: EntityConfig, identity: Identity) -> FieldRule | bool | None:
        for name in (config.unique_id, config.object_id, identity.path):
            if name and name in self._overrides:
                return self._overrides[name]
        if not config.device_class:
            return None
        unit = config.unit_of_measurement
        # Not the node id: a node called `battery-box` does not make all its voltages a battery's.
        names = (identity.path.rpartition("/")[2], config.object_id, config.unique_id, config.name)
        words = " ".join(n for n in names if n).lower()
        for rule in self._table.rule:
            if (
                rule.component == identity.component
                and config.device_class in rule.device_class
                and (not rule.units or unit in rule.units)
                and (not rule.words or any(w in words for w in rule.words))
            ):
                return FieldRule(sensor=rule.sensor)
        return None

    def _entity(
        self,
        key: _Key,
        label: str,
        device: str,
        config: EntityConfig,
        identity: Identity,
        rule: FieldRule,
    ) -> _Entity | Problem:
        sensor = self._catalog.get(rule.sensor)
        assert sensor is not None  # checked when the options and the table were loaded
        topic = config.state_topic
        if not topic:
            return Problem("bad_payload", f"{label} has no state_topic", sensor.id)
        unit = rule.unit
        if unit is None:
            sent = config.unit_of_measurement or None
            unit = self._table.units.get(sent, sent) if sent else None
        if sensor.kind == "number" and sensor.conversion(unit) is None:
            accepted = ", ".join([sensor.unit, *sensor.aliases, *sensor.units])
            detail = (
                f"{label} (device class {config.device_class}) is in {unit!r}, which "
                f"{sensor.id} cannot be converted from (it takes {accepted}); map the "
                "entity to another sensor type with the source's `entities` option, "
                "or ignore it there with false"
            )
            return Problem("unknown_unit", detail, sensor.id)
        try:
            template = compile_template(config.value_template) if config.value_template else None
            availability = _availability(config)
        except UnsupportedTemplate as exc:
            return Problem("unsupported_template", f"{label}: {exc}", sensor.id)
        if isinstance(availability, str):
            return Problem("bad_payload", f"{label}: {availability}", sensor.id)
        for candidate in (topic, *(a.topic for a in availability)):
            problem = topic_problem(candidate)
            if problem:
                return Problem("bad_payload", f"{label}: {problem}", sensor.id)
        binary = None
        if identity.component == "binary_sensor":
            invert = sensor.id == "contact" and config.device_class in self._table.open_when_on
            binary = _Binary(jinja_text(config.payload_on), jinja_text(config.payload_off), invert)
        return _Entity(
            key=key,
            label=label,
            device=device,
            state_topic=topic,
            sensor=sensor.id,
            unit=unit if sensor.kind == "number" else None,
            scale=rule.scale,
            template=template,
            binary=binary,
            availability=availability,
            mode=config.availability_mode,
        )

    def _room_for(self, entity: _Entity) -> Problem | None:
        device = self._devices.get(entity.device)
        if device is not None and entity.sensor in device.entities.values():
            detail = (
                f"{entity.label}: device {entity.device} already has {entity.sensor} from "
                "another entity; map one of them to another sensor type with the source's "
                "`entities` option, or ignore it there with false"
            )
            return Problem("duplicate_sensor", detail, entity.sensor)
        if len(self._entities) >= self._options.max_entities:
            detail = (
                f"{entity.label}: this source already follows {self._options.max_entities} "
                "entities, its max_entities; raise it or ignore entities you do not need"
            )
            return Problem("too_many_entities", detail, entity.sensor)
        return None

    def _remember(self, entity: _Entity, identifier: str, config: DeviceConfig | None) -> None:
        self._entities[entity.key] = entity
        self._by_config.setdefault(entity.key[0], {})[entity.key] = None
        for index, topic in (
            (self._by_state, entity.state_topic),
            *((self._by_availability, a.topic) for a in entity.availability),
        ):
            index.setdefault(topic, {})[entity.key] = None
        device = self._devices.setdefault(entity.device, _Device(identifier))
        if config is not None and config.name:
            device.name = config.name
        device.entities[entity.key] = entity.sensor

    def _forget_config(self, topic: str) -> None:
        for key in self._by_config.pop(topic, {}):
            self._forget(key)

    def _forget(self, key: _Key) -> None:
        entity = self._entities.pop(key)
        for index, topic in (
            (self._by_state, entity.state_topic),
            *((self._by_availability, a.topic) for a in entity.availability),
        ):
            keys = index.get(topic, {})
            keys.pop(key, None)
            if not keys:
                index.pop(topic, None)
        device = self._devices[entity.device]
        del device.entities[key]
        if not device.entities:
            del self._devices[entity.device]
            return
        still = {a.topic for k in device.entities for a in self._entities[k].availability}
        device.available = {t: up for t, up in device.available.items() if t in still}

    # --- states and availability -----------------------------------------------------------

    def _state(self, topic: str, payload: bytes) -> Translation:
        text = payload.decode("utf-8", "replace")
        state_keys = self._by_state.get(topic, {})
        availability_keys = self._by_availability.get(topic, {})
        templates = self._templates(topic, state_keys, availability_keys)
        document, json_problem = None, None
        if any(t is not None and t.needs_json for t in templates):
            try:
                document = load_json(payload)
            except PayloadError as exc:
                json_problem = Problem(exc.reason, exc.detail)
                if all(t is not None and t.needs_json for t in templates):
                    return Translation(problems=[json_problem])
        reports: dict[str, DeviceReport] = {}
        for key in state_keys:
            entity = self._entities[key]
            report = self._report(entity.device, reports)
            if json_problem is not None and entity.template and entity.template.needs_json:
                report.problems.append(_for(entity, json_problem))
            else:
                self._read(entity, text, document, report)
        answered: set[str] = set()
        for key in availability_keys:
            entity = self._entities[key]
            if entity.device not in answered:  # one presence per device and message
                answered.add(entity.device)
                report = self._report(entity.device, reports)
                self._presence(entity, topic, text, document, json_problem, report)
        return Translation(reports=list(reports.values()))

    def _templates(
        self, topic: str, state_keys: dict[_Key, None], availability_keys: dict[_Key, None]
    ) -> list[ValueTemplate | None]:
        """The templates that read this topic (None for a plain value)."""
        templates = [self._entities[k].template for k in state_keys]
        templates += [
            a.template
            for k in availability_keys
            for a in self._entities[k].availability
            if a.topic == topic
        ]
        return templates

    def _report(self, device: str, reports: dict[str, DeviceReport]) -> DeviceReport:
        report = reports.get(device)
        if report is None:
            known = self._devices[device]
            report = DeviceReport(device, self._options.village, foreign_id=known.foreign_id)
            reports[device] = report
        return report

    def _read(self, entity: _Entity, text: str, document: object, report: DeviceReport) -> None:
        if entity.template is None:
            raw: object = text
        else:
            try:
                raw = entity.template.render(text, document)
            except TemplateValueError as exc:
                detail = f"{entity.label}: {entity.template.text!r} met {exc}"
                report.problems.append(Problem("wrong_type", detail, entity.sensor))
                return
        if raw is None or (isinstance(raw, str) and raw.strip().lower() in _NO_VALUE):
            report.skipped.append(entity.label.removeprefix("entity "))
            return
        value = _binary(entity, raw) if entity.binary else _value(raw, entity.scale)
        if isinstance(value, str) and entity.binary:
            report.problems.append(Problem("wrong_type", f"{entity.label}: {value}", entity.sensor))
        elif value is None:
            detail = f"{entity.label}: the state holds {describe(raw)}, not a value"
            report.problems.append(Problem("wrong_type", detail, entity.sensor))
        else:
            report.readings.append(RawReading(entity.sensor, value, entity.unit, None))

    def _presence(
        self,
        entity: _Entity,
        topic: str,
        text: str,
        document: object,
        json_problem: Problem | None,
        report: DeviceReport,
    ) -> None:
        source = next(a for a in entity.availability if a.topic == topic)
        if source.template is None:
            word = text.strip()
        elif json_problem is not None and source.template.needs_json:
            report.problems.append(json_problem)
            return
        else:
            try:
                word = jinja_text(source.template.render(text, document)).strip()
            except TemplateValueError as exc:
                report.problems.append(Problem("bad_payload", f"{entity.label}: {exc}"))
                return
        if word not in (source.available, source.not_available):
            detail = (
                f"availability on {topic[:200]!r} must be {source.available!r} or "
                f"{source.not_available!r}, not {word[:40]!r}"
            )
            report.problems.append(Problem("bad_payload", detail))
            return
        device = self._devices[entity.device]
        device.available[topic] = word == source.available
        if entity.mode == "all":
            up = all(device.available.values())
        elif entity.mode == "any":
            up = any(device.available.values())
        else:
            up = device.available[topic]
        report.presence = "online" if up else "offline"


def _availability(config: EntityConfig) -> tuple[_Availability, ...] | str:
    sources = []
    if config.availability_topic:
        template = config.availability_template
        sources.append(
            _Availability(
                config.availability_topic,
                jinja_text(config.payload_available),
                jinja_text(config.payload_not_available),
                compile_template(template) if template else None,
            )
        )
    for entry in config.availability or []:
        template = entry.value_template
        sources.append(
            _Availability(
                entry.topic,
                jinja_text(entry.payload_available),
                jinja_text(entry.payload_not_available),
                compile_template(template) if template else None,
            )
        )
    if len(sources) > _MAX_AVAILABILITY:
        return f"{len(sources)} availability topics; at most {_MAX_AVAILABILITY} are followed"
    return tuple(sources)


def _for(entity: _Entity, problem: Problem) -> Problem:
    return Problem(problem.reason, f"{entity.label}: {problem.detail}", entity.sensor)


def _binary(entity: _Entity, raw: object) -> bool | str:
    """A binary_sensor state as true/false, or why it is neither."""
    assert entity.binary is not None
    state = jinja_text(raw).strip()
    if state == entity.binary.on:
        return not entity.binary.invert
    if state == entity.binary.off:
        return entity.binary.invert
    return (
        f"state {state[:40]!r} is neither payload_on {entity.binary.on!r} "
        f"nor payload_off {entity.binary.off!r}"
    )


def _value(raw: object, scale: float) -> Value | None:
    """A state as the validator expects it: numbers as floats, words as sent; None if neither.

    Text that reads as a number is one — `nan` included, so a failed sensor is refused as
    not finite, never stored as zero.
    """
    kind = type(raw)
    if kind is bool:
        return raw  # type: ignore[return-value]
    if kind is str:
        try:
            number = float(raw)  # type: ignore[arg-type]
        except ValueError:
            return raw  # type: ignore[return-value]
    elif kind in (int, float):
        try:
            number = float(raw)  # type: ignore[arg-type]
        except OverflowError:
            return repr(raw)[:64]
    else:
        return None
    return number * scale if scale != 1.0 else number
