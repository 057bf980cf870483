"""Topic layout: village/{village}/{device}/{channel}."""

from __future__ import annotations

from typing import Literal

import msgspec

from village_brain.core.ids import id_problem
from village_brain.core.records import Problem

Channel = Literal["telemetry", "status", "event", "result"]
CHANNELS: tuple[Channel, ...] = ("telemetry", "status", "event")
ROOT = "village"
NATIVE_PREFIX = ROOT + "/"
# All of `village/#`, not only the channels: a message on a topic that does not fit is then
# refused as bad_topic where people can see it, instead of never reaching us at all.
SUBSCRIPTIONS = [f"{ROOT}/#"]
DOWNLINK = "command"  # village/{village}/{device}/command/...: to devices, not from them
RESULT = "result"  # village/{village}/{device}/command/result: a device's answer (PROTOCOL §14)


class Address(msgspec.Struct, frozen=True):
    village: str
    device: str
    channel: Channel


def parse_topic(topic: str) -> Address | Problem | None:
    """Where a message on our own layout comes from; None for our downlink, not ours to read,
    except `command/result`, the devices' answers to it."""
    parts = topic.split("/")
    is_result = len(parts) == 5 and parts[0] == ROOT and parts[3:] == [DOWNLINK, RESULT]
    if is_result:
        parts = [*parts[:3], RESULT]
    elif len(parts) >= 4 and parts[0] == ROOT and parts[3] == DOWNLINK:
        return None
    if len(parts) != 4 or parts[0] != ROOT or not (is_result or parts[3] in CHANNELS):
        return Problem(
            "bad_topic",
            f"topic {topic[:200]!r} is not village/{{village}}/{{device}}/telemetry|status|event",
        )
    _, village, device, channel = parts
    problem = id_problem("village", village) or id_problem("device", device)
    if problem:
        return Problem("bad_topic", problem)
    return Address(village, device, channel)  # type: ignore[arg-type]
