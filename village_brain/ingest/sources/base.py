"""What a source hands the pipeline: one foreign message turned into our terms.

A source is a set of MQTT subscriptions plus an adapter for one device family. The adapter
only translates — topics and payloads in that family's dialect become device reports with
raw readings — and the pipeline then checks, stores and acknowledges them exactly as it does
our own format, so every family gets the same validation, dedupe and rejection reasons.
"""

from __future__ import annotations

from typing import Literal, Protocol

import msgspec

from village_brain.control.records import CommandResult
from village_brain.core.records import Problem, RawReading

Presence = Literal["online", "offline"]


class EventReport(msgspec.Struct, frozen=True):
    """Something that happened once (a button press, an alarm), as an adapter read it."""

    type: str
    ts_ms: int | None = None  # None: the time of receipt
    data: dict[str, object] = {}


class DeviceReport(msgspec.Struct):
    """What one message says about one device, in our ids and sensor types."""

    device: str  # our id (see sources/ids.py)
    village: str
    foreign_id: str = ""  # the device's id in its own family, shown beside ours
    readings: list[RawReading] = msgspec.field(default_factory=list)
    problems: list[Problem] = msgspec.field(default_factory=list)
    presence: Presence | None = None
    event: EventReport | None = None
    skipped: list[str] = msgspec.field(default_factory=list)  # fields no table maps


class Reply(msgspec.Struct, frozen=True):
    """A message the family expects back, published only after the readings are committed."""

    topic: str
    payload: bytes
    qos: int = 0


class Translation(msgspec.Struct):
    """An adapter's reading of one message.

    `problems` refuse the whole message (wrong topic, unreadable payload); problems of single
    readings belong to their device's report, so good neighbours are still stored.
    `quiet` marks messages the family sends that carry nothing for us (bridge logs,
    configuration echoes): they are counted, never refused.
    """

    reports: list[DeviceReport] = msgspec.field(default_factory=list)
    problems: list[Problem] = msgspec.field(default_factory=list)
    replies: list[Reply] = msgspec.field(default_factory=list)
    quiet: bool = False
    # Topic filters learnt from this message (a discovery announcement naming a state
    # topic): the source subscribes to them from now on, and again after every reconnect.
    subscribe: list[str] = msgspec.field(default_factory=list)
    # A device's answers to commands sent in its family's dialect (control/downlinks); an
    # `id` the family cannot carry as ours is the downlink's reference, matched by control.
    results: list[CommandResult] = msgspec.field(default_factory=list)


class Adapter(Protocol):
    """One device family's dialect. Made once per configured source, from its options."""

    name: str

    def subscriptions(self) -> list[str]:
        """The MQTT topic filters this source needs."""
        ...

    def translate(
        self, topic: str, payload: bytes, received_ms: int, content_type: str | None
    ) -> Translation:
        """Our reading of one message. Must not raise for any input: refuse it instead."""
        ...


def refused(reason: str, detail: str) -> Translation:
    """A translation that refuses the whole message."""
    return Translation(problems=[Problem(reason, detail)])
