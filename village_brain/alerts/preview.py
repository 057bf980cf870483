"""A rule's lifecycle over stored readings: when it would have fired and resolved.

The replay runs a fresh `Evaluator` holding only this rule over the stored readings of the
devices in its scope, oldest first, with the clock ticking between them, so a breach held
for `for`, a rate window and a silence behave as they would have live. Pure: the readings
come in through `Points`, nothing is written anywhere.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Iterator

import msgspec

from village_brain.alerts.evaluator import Change, Clockwork, Evaluator
from village_brain.alerts.kinds import KINDS
from village_brain.alerts.rules import Rule
from village_brain.core.catalog import Catalog
from village_brain.core.devices import Device
from village_brain.core.records import Reading

# The stored points of one device's sensor in [start, end): (time, value), oldest first.
Points = Callable[[str, str, int, int], list[tuple[int, float]]]
# Between readings the clock moves in steps this long, so held breaches and silences end on
# time even where readings are sparse.
TICK_MS = 60_000


class Replay(msgspec.Struct, frozen=True):
    changes: list[Change]
    devices: list[str]  # the devices whose readings were replayed
    readings: int
    firing_at_end: list[tuple[str, str]]  # (device, subject) still firing at the end


class NotReplayable(ValueError):
    """A rule the stored readings cannot show (event rules: events are not readings)."""


def in_scope(rule: Rule, device: Device) -> bool:
    return (
        (rule.village is None or rule.village == device.village)
        and (rule.device is None or rule.device == device.id)
        and (not rule.devices or device.id in rule.devices)
        and (rule.place is None or rule.place == device.place)
        and (rule.device_kind is None or rule.device_kind == device.kind)
    )


def sensors_of(rule: Rule, device: Device, catalog: Catalog) -> list[str]:
    """The sensors whose readings the rule watches on `device`."""
    wanted = [rule.sensor] if rule.sensor else list(device.sensors)
    if rule.while_on and rule.while_on not in wanted:
        wanted.append(rule.while_on)
    return [s for s in wanted if catalog.get(s) is not None]


def replay(
    rule: Rule,
    catalog: Catalog,
    devices: Iterable[Device],
    points: Points,
    start_ms: int,
    end_ms: int,
    clockwork: Clockwork,
    offline_after_intervals: float = 3.0,
) -> Replay:
    feed = KINDS[rule.kind].feed
    if feed == "events":
        raise NotReplayable("an event rule watches events, which a preview cannot replay")
    rule = msgspec.structs.replace(rule, enabled=True)
    scoped = [d for d in devices if in_scope(rule, d)]
    by_id = {d.id: d for d in scoped}
    evaluator = Evaluator(
        [rule],
        catalog,
        clockwork,
        offline_after_intervals,
        place_of=lambda d: by_id[d].place if d in by_id else "",
        kind_of=lambda d: by_id[d].kind if d in by_id else "",
    )
    streams = [
        _stream(device, sensor, points(device.id, sensor, start_ms, end_ms))
        for device in scoped
        for sensor in sensors_of(rule, device, catalog)
    ]
    if feed == "presence":
        for device in scoped:
            evaluator.note_sensors(device.id, device.sensors)
            evaluator.arm(device.id, device.village, None, {}, start_ms)
    changes: list[Change] = []
    count = 0
    next_tick = start_ms + TICK_MS
    for reading in heapq.merge(*streams, key=lambda r: r.ts_ms):
        while next_tick <= reading.ts_ms:
            changes += evaluator.tick(next_tick)
            next_tick += TICK_MS
        count += 1
        changes += evaluator.readings([reading])
        if feed == "presence":
            changes += evaluator.seen(reading.device, reading.village, reading.ts_ms)
    while next_tick <= end_ms:
        changes += evaluator.tick(next_tick)
        next_tick += TICK_MS
    firing = sorted((device, subject) for _, device, subject in evaluator.firing())
    return Replay(changes, sorted(by_id), count, firing)


def _stream(device: Device, sensor: str, found: list[tuple[int, float]]) -> Iterator[Reading]:
    for ts_ms, value in found:
        yield Reading(device.village, device.id, sensor, ts_ms, value)
