"""Commands to devices of other families, in their own dialect (docs/control.md).

Each family is one module with a `Downlink` made from its source's options; `Downlinks`
picks the one for a device that a source registered (it has a foreign id): the source of
that family in the device's village. A family whose request ids cannot be ours (Alink's
numbers, ChirpStack's queue item UUIDs) has a `reference(command)`: an answer naming it is
matched back to the command among the device's open ones (`resolve`).
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from village_brain.control.downlinks import (
    alink,
    chirpstack,
    esphome,
    shelly,
    tasmota,
    zigbee2mqtt,
)
from village_brain.control.downlinks.base import Downlink, Publication
from village_brain.control.records import Command, CommandResult
from village_brain.core.catalog import Catalog
from village_brain.core.devices import Device
from village_brain.ingest.sources.router import Sources

FAMILIES = {
    tasmota.NAME: tasmota.make,
    zigbee2mqtt.NAME: zigbee2mqtt.make,
    esphome.NAME: esphome.make,
    shelly.NAME: shelly.make,
    chirpstack.NAME: chirpstack.make,
    alink.NAME: alink.make,
}


class Downlinks:
    def __init__(self, downlinks: list[Downlink]) -> None:
        self.downlinks = downlinks

    @classmethod
    def of(cls, sources: Sources, catalog: Catalog) -> Downlinks:
        found: list[Downlink] = []
        for source in sources:
            make = FAMILIES.get(getattr(source.adapter, "name", ""))
            if make is not None:
                found.append(make(source.adapter, catalog))  # type: ignore[operator]
        return cls(found)

    def for_device(self, device: Device) -> Downlink | str | None:
        """The family downlink of a device a source registered; None for our own devices;
        a sentence when none or several could carry its commands."""
        if not device.foreign_id:
            return None
        fitting = [d for d in self.downlinks if d.village == device.village]
        if len(fitting) == 1:
            return fitting[0]
        if not fitting:
            return (
                f"device {device.id!r} came through a source whose family takes no commands "
                "here (commands go to Tasmota, Zigbee2MQTT, ESPHome, Shelly, ChirpStack and "
                "Alink devices)"
            )
        return f"village {device.village!r} has several sources that take commands"

    def write_filters(self) -> list[str]:
        return [f for d in self.downlinks for f in d.write_filters()]

    def resolve(self, result: CommandResult, open_commands: Sequence[Command]) -> CommandResult:
        """The answer with the id of the open command whose family reference it names."""
        for command in open_commands:
            for downlink in self.downlinks:
                reference = getattr(downlink, "reference", None)
                if (
                    reference is not None
                    and downlink.village == command.village
                    and reference(command) == result.id
                ):
                    return msgspec.structs.replace(result, id=command.id)
        return result


__all__ = ["Downlink", "Downlinks", "Publication"]
