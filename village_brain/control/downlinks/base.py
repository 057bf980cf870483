"""What a family downlink does: turn one command into the messages its firmware reads."""

from __future__ import annotations

from typing import Protocol

import msgspec

from village_brain.control.records import Command
from village_brain.core.catalog import Catalog


class Publication(msgspec.Struct, frozen=True):
    topic: str
    payload: bytes


class Downlink(Protocol):
    family: str
    village: str

    def check(self, target: str) -> str | None:
        """Why this family cannot be given `target`, or None."""
        ...

    def publications(self, command: Command, foreign_id: str) -> list[Publication]: ...

    def write_filters(self) -> list[str]:
        """Where ingest writes, for the broker's ACL."""
        ...


def switch_word(catalog: Catalog, command: Command) -> str:
    """ON or OFF, as relays of every family spell them, for an on/off target."""
    sensor = catalog.types[command.target]
    words = sensor.command_values or [sensor.true_words[0], sensor.false_words[0]]
    return "ON" if command.value == words[0] else "OFF"


def is_switch(catalog: Catalog, target: str) -> bool:
    sensor = catalog.get(target)
    return sensor is not None and sensor.controllable and sensor.kind == "boolean"
