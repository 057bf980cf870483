"""ESPHome's MQTT command topics: `<prefix>/switch/<id>/command` with ON or OFF,
`<prefix>/light/<id>/command` with `{"state": "ON"}`, `<prefix>/cover/<id>/position/command`
with a position from 0 to 100.

ESPHome sends no answer of its own: the entity publishes its new state on its state topic,
which the esphome source reads as a reading of the commanded type; that makes it done. The
entity for each type is the source's `controls` entry, or the switch or cover named after it.
"""

from __future__ import annotations

import msgspec

from village_brain.control.downlinks.base import (
    Publication,
    full_prefix,
    is_position,
    is_switch,
    switch_word,
)
from village_brain.control.records import Command
from village_brain.core.catalog import Catalog
from village_brain.ingest.sources.esphome import EspHome

NAME = "esphome"


class EspHomeDownlink:
    family = NAME

    def __init__(
        self, village: str, prefixes: list[str], controls: dict[str, str], catalog: Catalog
    ) -> None:
        self.village = village
        self.prefixes = prefixes
        self.controls = controls
        self.catalog = catalog

    def entity(self, target: str) -> tuple[str, str]:
        """(component, object id) of the entity that carries `target`."""
        if target in self.controls:
            component, _, object_id = self.controls[target].partition("/")
            return component, object_id
        return ("cover" if is_position(self.catalog, target) else "switch"), target

    def check(self, target: str) -> str | None:
        if not (is_switch(self.catalog, target) or is_position(self.catalog, target)):
            return f"ESPHome entities take on/off states and cover positions, not {target}"
        component, _ = self.entity(target)
        if (component == "cover") != is_position(self.catalog, target):
            return f"{target} cannot be set through an ESPHome {component} (see controls)"
        return None

    def publications(self, command: Command, foreign_id: str) -> list[Publication]:
        prefix = full_prefix(self.prefixes, foreign_id) or foreign_id
        component, object_id = self.entity(command.target)
        base = f"{prefix}/{component}/{object_id}"
        if component == "cover":
            position = str(round(float(command.value or 0)))
            return [Publication(f"{base}/position/command", position.encode())]
        word = switch_word(self.catalog, command)
        if component == "light":
            return [Publication(f"{base}/command", msgspec.json.encode({"state": word}))]
        return [Publication(f"{base}/command", word.encode())]

    def write_filters(self) -> list[str]:
        suffixes = ("switch/+/command", "light/+/command", "cover/+/position/command")
        return [f"{pattern}/{suffix}" for pattern in self.prefixes for suffix in suffixes]


def make(adapter: EspHome, catalog: Catalog) -> EspHomeDownlink:
    options = adapter._options
    return EspHomeDownlink(options.village, options.prefixes, options.controls, catalog)
