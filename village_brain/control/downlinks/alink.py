"""Aliyun Alink: a property set (`/sys/{productKey}/{deviceName}/thing/service/property/set`,
`params` `{"LightStatus": 1}`) for a commanded type, a service call
(`/sys/{productKey}/{deviceName}/thing/service/{identifier}`, `params` the command's args)
for a named action, each as the cloud sends them (`id`, `version` 1.0, `method`).

Alink ids are numbers up to 4294967295 sent as text, so the request's id stands for the
command (base.short_reference); the alink source reads the device's `_reply` (code 200:
done, else failed with its message) and control matches it among the device's open commands.
"""

from __future__ import annotations

import msgspec

from village_brain.control.downlinks.base import Publication, short_reference
from village_brain.control.records import Command
from village_brain.control.validate import ACTIONS
from village_brain.core.catalog import Catalog
from village_brain.ingest.sources.alink import Alink

NAME = "alink"


class AlinkDownlink:
    family = NAME

    def __init__(self, adapter: Alink, catalog: Catalog) -> None:
        self.adapter = adapter
        self.village = adapter._options.village
        self.services = adapter._options.services
        self.catalog = catalog

    def check(self, target: str) -> str | None:
        if target in ACTIONS:
            if target in self.services:
                return None
            return f"this Alink source invokes no service for {target} (the source's services)"
        if self.adapter.identifier_of(target) is None:
            return f"no Alink property identifier is mapped to {target} (properties or fields)"
        return None

    def reference(self, command: Command) -> str:
        return str(short_reference(NAME, command.id))

    def publications(self, command: Command, foreign_id: str) -> list[Publication]:
        product_key, _, device_name = foreign_id.rpartition("/")
        fallback = self.adapter._options.command_product_key
        product_key = product_key or self.adapter.known.get(foreign_id) or fallback
        if not product_key:
            raise LookupError(f"no message of {foreign_id} has named its ProductKey yet")
        base = f"/sys/{product_key}/{device_name}/thing/service"
        if command.target in ACTIONS:
            identifier = self.services[command.target]
            topic, method, params = (
                f"{base}/{identifier}",
                f"thing.service.{identifier}",
                command.args,
            )
        else:
            identifier = self.adapter.identifier_of(command.target) or command.target
            topic, method = f"{base}/property/set", "thing.service.property.set"
            params = {identifier: self._value(command)}
        body = {
            "id": self.reference(command),
            "version": "1.0",
            "params": params,
            "method": method,
        }
        return [Publication(topic, msgspec.json.encode(body))]

    def _value(self, command: Command) -> int | float:
        """Alink's bool is 0 or 1; a number goes as a whole number when it is one."""
        sensor = self.catalog.types[command.target]
        if sensor.kind == "boolean":
            words = sensor.command_values or [sensor.true_words[0], sensor.false_words[0]]
            return 1 if command.value == words[0] else 0
        value = float(command.value or 0)
        return int(value) if value.is_integer() else value

    def write_filters(self) -> list[str]:
        return [
            "/sys/+/+/thing/service/property/set",
            *(f"/sys/+/+/thing/service/{s}" for s in self.services.values()),
        ]


def make(adapter: Alink, catalog: Catalog) -> AlinkDownlink:
    return AlinkDownlink(adapter, catalog)
