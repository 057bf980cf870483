"""Raw points grouped the way every backend groups them, for readers that fetch raw points.

A bucket starts at a multiple of the step since the epoch and holds [start, start + step);
its `last` is the value of its newest point. SQLite and InfluxQL do this in the database;
a server that only exports raw samples (VictoriaMetrics) has it done here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from village_brain.store.base import Bucket

Point = tuple[int, float]


def buckets_of(points: Iterable[Point], start_ms: int, end_ms: int, step_ms: int) -> list[Bucket]:
    """Points (in any order, each timestamp once) in [start_ms, end_ms), bucketed by step."""
    groups: dict[int, list[Point]] = {}
    for ts, value in points:
        if start_ms <= ts < end_ms:
            groups.setdefault(ts // step_ms * step_ms, []).append((ts, value))
    return [_bucket(start, groups[start]) for start in sorted(groups)]


def _bucket(start_ms: int, points: list[Point]) -> Bucket:
    values = [value for _, value in points]
    last = max(points)[1]
    return Bucket(start_ms, min(values), max(values), sum(values) / len(values), len(values), last)


def span(windows: Mapping[str, tuple[int, int]]) -> tuple[int, int]:
    """From the earliest start to the latest end of the windows: what one read asks for,
    where a read per device would be a round trip each."""
    return min(lo for lo, _ in windows.values()), max(hi for _, hi in windows.values())


def window_lasts(
    points: Mapping[str, Iterable[tuple[int, float | None]]],
    windows: Mapping[str, tuple[int, int]],
    step_ms: int,
) -> dict[str, list[tuple[int, float]]]:
    """Each device's points (device -> points) in its own window, the newest of each bucket
    as (its time, its value): the bounds are each device's, where a query could only ask
    for the span of them all."""
    found: dict[str, list[tuple[int, float]]] = {}
    for device, device_points in points.items():
        if device not in windows:
            continue
        start, end = windows[device]
        newest: dict[int, tuple[int, float]] = {}
        for ts, value in device_points:
            if value is None or not start <= ts < end:
                continue
            bucket = ts // step_ms * step_ms
            if bucket not in newest or newest[bucket][0] < ts:
                newest[bucket] = (int(ts), float(value))
        if newest:
            found[device] = [newest[bucket] for bucket in sorted(newest)]
    return found
