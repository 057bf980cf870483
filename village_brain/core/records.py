"""Typed records that flow through the pipeline.

Each stage takes plain records in and hands plain records on, so it can be tested alone.
"""

from __future__ import annotations

import msgspec

Value = float | bool | str


class RawReading(msgspec.Struct, frozen=True):
    """One reading as a device sent it, before it is checked against the catalog."""

    sensor: str
    value: Value
    unit: str | None = None
    ts_ms: int | None = None  # None means "time of receipt"


class Reading(msgspec.Struct, frozen=True):
    """A checked reading in its sensor type's canonical unit, ready to store."""

    village: str
    device: str
    sensor: str
    ts_ms: int
    value: float


class Problem(msgspec.Struct, frozen=True):
    """Why one reading (or a whole message) was refused.

    `reason` is a stable code (see PROTOCOL.md); `detail` is for a person.
    """

    reason: str
    detail: str
    sensor: str | None = None


class Rejection(msgspec.Struct, frozen=True):
    """A problem with the context needed to find its source: kept in the dead-letter log."""

    at_ms: int
    reason: str
    detail: str
    topic: str
    village: str | None = None
    device: str | None = None
    sensor: str | None = None
    excerpt: str = ""
    # Set when the message was retained: the broker sends it again at every subscription,
    # and this is how a repeat is known (see village_brain/ingest/retained.py).
    retained_key: str | None = None


class Decoded(msgspec.Struct):
    """What a codec makes of one payload: the readings it could read and the ones it could not."""

    readings: list[RawReading] = msgspec.field(default_factory=list)
    problems: list[Problem] = msgspec.field(default_factory=list)


class PayloadError(Exception):
    """The whole payload is unreadable; nothing in it can be used."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail
