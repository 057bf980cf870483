"""ChirpStack v4: a downlink enqueued through the MQTT integration on
`application/<application id>/device/<DevEUI>/command/down`, with `devEui`, `confirmed`,
`fPort` and `data` (base64) as the device profile expects them (the source's `downlinks`).

The queue item's `id` is made from the command's id, so the `txack` (a gateway sent it:
accepted) and `ack` (the device acknowledged it: done, or not: failed) events that name it
are matched back to the command among the device's open ones.
"""

from __future__ import annotations

import base64
import uuid

import msgspec

from village_brain.control.downlinks.base import Publication
from village_brain.control.records import Command
from village_brain.core.catalog import Catalog
from village_brain.ingest.sources.chirpstack import ChirpStack, ProfileDownlink

NAME = "chirpstack"
# Queue item ids are UUIDs: ours are name-based, so a repeat of a command is the same item.
_NAMESPACE = uuid.UUID("5b1d0c2e-7a43-4c38-9b0e-6f1f3c9d2a10")


class ChirpStackDownlink:
    family = NAME

    def __init__(self, adapter: ChirpStack, catalog: Catalog) -> None:
        self.adapter = adapter
        self.village = adapter._options.village
        self.profiles = adapter._options.downlinks
        self.catalog = catalog

    def check(self, target: str) -> str | None:
        if any(target in p.payloads for p in self.profiles.values()):
            return None
        return (
            f"no device profile of this ChirpStack source has a downlink payload for {target} "
            "(the source's downlinks)"
        )

    def reference(self, command: Command) -> str:
        return str(uuid.uuid5(_NAMESPACE, command.id))

    def publications(self, command: Command, foreign_id: str) -> list[Publication]:
        application, profile_name, dev_eui = self.adapter.known.get(foreign_id, ("", "", ""))
        application = application or self.adapter._options.application_id
        if not application:
            raise LookupError(
                f"no event of {foreign_id} has named its application yet; set application_id"
            )
        profile = self._profile(profile_name)
        data = profile.payloads.get(command.target, {}).get(_value_key(command.value))
        if data is None:
            raise LookupError(
                f"the downlinks of profile {profile_name or '*'!r} have no bytes for "
                f"{command.target} = {_value_key(command.value)}"
            )
        dev_eui = dev_eui or foreign_id
        body = {
            "id": self.reference(command),
            "devEui": dev_eui,
            "confirmed": profile.confirmed,
            "fPort": profile.f_port,
            "data": base64.b64encode(bytes.fromhex(data)).decode(),
        }
        topic = f"application/{application}/device/{dev_eui}/command/down"
        return [Publication(topic, msgspec.json.encode(body))]

    def _profile(self, name: str) -> ProfileDownlink:
        found = self.profiles.get(name) or self.profiles.get("*")
        if found is None and len(self.profiles) == 1:
            found = next(iter(self.profiles.values()))
        if found is None:
            raise LookupError(f"the source has no downlinks for device profile {name!r}")
        return found

    def write_filters(self) -> list[str]:
        return ["application/+/device/+/command/down"]


def _value_key(value: str | float | None) -> str:
    """How a value is written in the payload table: a word as it is, 40.0 as 40."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def make(adapter: ChirpStack, catalog: Catalog) -> ChirpStackDownlink:
    return ChirpStackDownlink(adapter, catalog)
