"""Topic layout: village/{village}/{device}/{channel}."""

from __future__ import annotations

from typing import Literal

import msgspec

from village_brain.core.ids import id_problem
from village_brain.core.records import Problem

Channel = Literal["telemetry", "status", "event"]
CHANNELS: tuple[Channel, ...] = ("telemetry", "status", "event")
ROOT = "village"
SUBSCRIPTIONS = [f"{ROOT}/+/+/{channel}" for channel in CHANNELS]


class Address(msgspec.Struct, frozen=True):
    village: str
    device: str
    channel: Channel


def parse_topic(topic: str) -> Address | Problem:
    parts = topic.split("/")
    if len(parts) != 4 or parts[0] != ROOT or parts[3] not in CHANNELS:
        return Problem(
            "bad_topic",
            f"topic {topic[:200]!r} is not village/{{village}}/{{device}}/telemetry|status|event",
        )
    _, village, device, channel = parts
    problem = id_problem("village", village) or id_problem("device", device)
    if problem:
        return Problem("bad_topic", problem)
    return Address(village, device, channel)  # type: ignore[arg-type]
