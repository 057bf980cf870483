"""What a family downlink does: turn one command into the messages its firmware reads."""

from __future__ import annotations

import hashlib
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


def is_position(catalog: Catalog, target: str) -> bool:
    """A controllable number from 0 to 100: a valve's or sluice's opening."""
    sensor = catalog.get(target)
    return sensor is not None and sensor.controllable and sensor.kind == "number"


def full_prefix(patterns: list[str], foreign_id: str) -> str | None:
    """The topic prefix of the device whose foreign id is `foreign_id` under one of the
    source's prefix patterns (its id is the prefix from the pattern's first `+` on)."""
    levels = foreign_id.split("/")
    for pattern in patterns:
        parts = pattern.split("/")
        first = parts.index("+") if "+" in parts else 0
        tail = parts[first:]
        if len(tail) == len(levels) and all(
            want in ("+", got) for want, got in zip(tail, levels, strict=True)
        ):
            return "/".join(parts[:first] + levels)
    return None


def short_reference(family: str, command_id: str) -> int:
    """A number from 0 to 4294967295 that stands for a command in a family whose request ids
    must be such numbers; an answer is matched back among the device's open commands."""
    digest = hashlib.sha256(f"{family}:{command_id}".encode()).digest()
    return int.from_bytes(digest[:4], "big")
