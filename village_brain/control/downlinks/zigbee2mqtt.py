"""Zigbee2MQTT: `<base>/<friendly name>/set` with `{"state": "ON"}`, or `{"position": 40}`
for a cover (a valve or sluice).

Zigbee2MQTT then publishes the device's new state on `<base>/<friendly name>`; the source
reads it as a reading where its `fields` map `state` or `position` to the target.
"""

from __future__ import annotations

import msgspec

from village_brain.control.downlinks.base import Publication, is_switch, switch_word
from village_brain.control.records import Command
from village_brain.core.catalog import Catalog
from village_brain.ingest.sources.zigbee2mqtt import Zigbee2Mqtt

NAME = "zigbee2mqtt"
_POSITIONS = frozenset(("valve_position", "sluice_position"))


class Zigbee2MqttDownlink:
    family = NAME

    def __init__(self, village: str, base_topic: str, catalog: Catalog) -> None:
        self.village = village
        self.base = base_topic.rstrip("/")
        self.catalog = catalog

    def check(self, target: str) -> str | None:
        if is_switch(self.catalog, target) or target in _POSITIONS:
            return None
        return f"Zigbee2MQTT devices take on/off states and cover positions, not {target}"

    def publications(self, command: Command, foreign_id: str) -> list[Publication]:
        if command.target in _POSITIONS:
            body: dict[str, object] = {"position": round(float(command.value or 0))}
        else:
            body = {"state": switch_word(self.catalog, command)}
        return [Publication(f"{self.base}/{foreign_id}/set", msgspec.json.encode(body))]

    def write_filters(self) -> list[str]:
        # A friendly name may have a level or two of its own ("garden/lamp").
        return [f"{self.base}/+/set", f"{self.base}/+/+/set"]


def make(adapter: Zigbee2Mqtt, catalog: Catalog) -> Zigbee2MqttDownlink:
    options = adapter._options
    return Zigbee2MqttDownlink(options.village, options.base_topic, catalog)
