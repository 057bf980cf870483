"""Home Assistant discovery configs read into plain records: topics, abbreviations, `~`.

A config arrives on `<prefix>/<component>/[<node_id>/]<object_id>/config` as JSON whose keys
may be abbreviated (`stat_t` for state_topic, `dev` for device, …), whose topics may start or
end with `~` (the config's base topic), and — for device-based discovery, on
`<prefix>/device/<object_id>/config` — may hold several components sharing root options.
This module turns one into a list of entity configs; what they mean is homeassistant.py's.
"""

from __future__ import annotations

from typing import Literal

import msgspec

from village_brain.core.records import Problem

_MAX_TOPIC_BYTES = 65_535

# The abbreviations of the keys read here (Home Assistant's MQTT docs list them all).
_KEYS = {
    "stat_t": "state_topic",
    "val_tpl": "value_template",
    "unit_of_meas": "unit_of_measurement",
    "dev_cla": "device_class",
    "stat_cla": "state_class",
    "uniq_id": "unique_id",
    "obj_id": "object_id",
    "avty": "availability",
    "avty_t": "availability_topic",
    "avty_tpl": "availability_template",
    "avty_mode": "availability_mode",
    "pl_avail": "payload_available",
    "pl_not_avail": "payload_not_available",
    "pl_on": "payload_on",
    "pl_off": "payload_off",
    "dev": "device",
    "t": "topic",
    "cmps": "components",
    "cmp": "components",
    "p": "platform",
    "o": "origin",
    "migr_discvry": "migrate_discovery",
}
_DEVICE_KEYS = {"ids": "identifiers", "cns": "connections"}
_NOT_SHARED = frozenset(("components", "device", "origin", "platform"))


Scalar = str | bool | int | float


class DeviceConfig(msgspec.Struct):
    identifiers: str | int | list[str | int] | None = None
    name: str | None = None


class AvailabilityConfig(msgspec.Struct):
    topic: str
    payload_available: Scalar = "online"
    payload_not_available: Scalar = "offline"
    value_template: str | None = None


class EntityConfig(msgspec.Struct):
    """The part of a discovery config (abbreviations expanded) that ingest needs."""

    state_topic: str | None = None
    name: str | None = None
    unique_id: str | None = None
    object_id: str | None = None
    device_class: str | None = None
    unit_of_measurement: str | None = None
    state_class: str | None = None
    value_template: str | None = None
    payload_on: Scalar = "ON"
    payload_off: Scalar = "OFF"
    availability_topic: str | None = None
    payload_available: Scalar = "online"
    payload_not_available: Scalar = "offline"
    availability_template: str | None = None
    availability: list[AvailabilityConfig] | None = None
    availability_mode: Literal["all", "any", "latest"] = "latest"
    device: DeviceConfig | None = None


class Identity(msgspec.Struct, frozen=True):
    component: str
    path: str  # `node_id/object_id`, or `object_id`, as the config topic gives them


def config_identity(prefix: str, topic: str) -> Identity | None:
    """The component and object path a config topic names; None for any other topic."""
    rest = topic.removeprefix(prefix)
    if rest == topic:
        return None
    levels = rest.split("/")
    if levels[-1] != "config" or len(levels) not in (3, 4) or not all(levels):
        return None
    return Identity(levels[0], "/".join(levels[1:-1]))


def entity_configs(identity: Identity, raw: dict) -> list[tuple[str, Identity, dict]] | Problem:
    """Each entity a config describes, keyed by its component ("" outside device configs),
    with keys written out and base topics applied; empty for a migration notice."""
    config = _expanded(raw, _KEYS)
    if config.get("migrate_discovery"):
        return []
    if identity.component != "device":
        return [("", identity, _with_base_topic(config))]
    return _components(config, identity)


def _expanded(raw: dict, keys: dict[str, str]) -> dict:
    """A config with its abbreviated keys written out, the device's and availability's too."""
    config = {keys.get(k, k): v for k, v in raw.items()}
    device = config.get("device")
    if isinstance(device, dict):
        config["device"] = {_DEVICE_KEYS.get(k, k): v for k, v in device.items()}
    availability = config.get("availability")
    if isinstance(availability, list):
        config["availability"] = [
            {keys.get(k, k): v for k, v in entry.items()} if isinstance(entry, dict) else entry
            for entry in availability
        ]
    return config


def _with_base_topic(config: dict) -> dict:
    """`~` at the start or end of a topic replaced by the base topic the config gives."""
    base = config.get("~")
    if not isinstance(base, str):
        return config

    def expand(value: object) -> object:
        if not isinstance(value, str) or not value:
            return value
        if value.startswith("~"):
            value = base + value[1:]
        if value.endswith("~"):
            value = value[:-1] + base
        return value

    expanded = {k: expand(v) if k.endswith("topic") else v for k, v in config.items()}
    availability = expanded.get("availability")
    if isinstance(availability, list):
        expanded["availability"] = [
            {**entry, "topic": expand(entry.get("topic"))} if isinstance(entry, dict) else entry
            for entry in availability
        ]
    return expanded


def _components(config: dict, identity: Identity) -> list[tuple[str, Identity, dict]] | Problem:
    """The entities of a device-based config, each with the options shared at its root."""
    components = config.get("components")
    if not isinstance(components, dict):
        return Problem("bad_payload", "a device discovery config needs a components object")
    shared = {k: v for k, v in config.items() if k not in _NOT_SHARED}
    entries = []
    for component_key, raw in components.items():
        if not isinstance(raw, dict):
            return Problem("bad_payload", f"component {component_key[:64]!r} is not an object")
        component = _expanded(raw, _KEYS)
        platform = component.pop("platform", None)
        if not isinstance(platform, str) or not platform:
            return Problem("bad_payload", f"component {component_key[:64]!r} has no platform")
        if not component:
            continue  # only a platform: the component was removed
        entry = {**shared, **component, "device": config.get("device")}
        path = f"{identity.path}/{component_key}"
        entries.append((component_key, Identity(platform, path), _with_base_topic(entry)))
    return entries


def topic_problem(topic: str) -> str | None:
    """Why a topic a config names cannot be followed; None when it can."""
    if not topic:
        return "a topic is empty"
    if "+" in topic or "#" in topic:
        return f"topic {topic[:200]!r} has a wildcard; only plain topics are followed"
    if "\x00" in topic or len(topic.encode("utf-8")) > _MAX_TOPIC_BYTES:
        return f"topic {topic[:200]!r} is not a valid MQTT topic"
    return None
