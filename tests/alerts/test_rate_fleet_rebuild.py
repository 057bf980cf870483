"""After a start, a rate rule rebuilds the windows of a whole batch's devices in one read.

The real engine and SQLite stores: history is written, the engine is opened again (as a
process starts), and one batch brings a reading from every device. Each device's window must
be its own (its stored readings before its first reading in the batch), and the store must
be asked once for all of them, not once per device.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest
from restart_world import MIN, T0, World

from village_brain.core.devices import Device
from village_brain.core.records import Reading
from village_brain.store.registry import BatchRecord
from village_brain.store.sqlite_series import SqliteSeriesStore

S = 1_000
DEVICES = [f"g{i}" for i in range(40)]
RULE = """
[[rule]]
id = "fast"
name = "river rising fast"
severity = "warning"
kind = "rate"
sensor = "water_level"
rise = 0.2
within = "10m"
"""


class CountingStore(SqliteSeriesStore):
    """The real store, counting the reads a rate rule makes to rebuild its windows."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.window_reads: list[int] = []
        self.series_reads = 0

    def window_lasts(
        self, sensor: str, windows: Mapping[str, tuple[int, int]], step_ms: int
    ) -> dict[str, list[tuple[int, float]]]:
        self.window_reads.append(len(windows))
        return super().window_lasts(sensor, windows, step_ms)

    def series(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        self.series_reads += 1
        return super().series(*args, **kwargs)


def batch(world: World, readings: list[Reading], now: int) -> None:
    world.series.write(readings)
    record = BatchRecord(
        seen={r.device: now for r in readings}, stored={r.device: now for r in readings}
    )
    world.registry.commit(record)
    world.engine.on_batch(readings, record)


@pytest.fixture
def world(tmp_path: Path):
    w = World(tmp_path, RULE, [Device(d, "xs") for d in DEVICES])
    yield w
    w.close()


def restarted(world: World) -> CountingStore:
    world.series.close()
    world.series = store = CountingStore(world.path / "series.sqlite3")
    world.restart()
    return store


def fired(world: World) -> set[str]:
    return {a.device for a in world.engine.store.alerts(limit=1_000) if a.rule_id == "fast"}


def test_one_batch_after_a_start_rebuilds_every_devices_window_with_one_read(world):
    world.clock.ms = T0 + MIN
    batch(world, [Reading("xs", d, "water_level", T0 + MIN, 1.0) for d in DEVICES], T0 + MIN)
    store = restarted(world)
    now = T0 + 3 * MIN
    world.clock.ms = now
    batch(world, [Reading("xs", d, "water_level", now, 1.05) for d in DEVICES], now)
    assert store.window_reads == [len(DEVICES)]
    assert store.series_reads == 0
    # Windows already rebuilt are not read again.
    batch(world, [Reading("xs", d, "water_level", now + S, 1.05) for d in DEVICES], now + S)
    assert store.window_reads == [len(DEVICES)]


def test_each_device_is_judged_against_its_own_stored_readings(world):
    world.clock.ms = T0 + MIN
    batch(world, [Reading("xs", d, "water_level", T0 + MIN, 1.0) for d in DEVICES], T0 + MIN)
    restarted(world)
    now = T0 + 3 * MIN
    world.clock.ms = now
    rising = {d for i, d in enumerate(DEVICES) if i % 3 == 0}
    readings = [
        # Each device's first reading in the batch at its own time, so every window ends at
        # a different point; a later one of the same device must not leak into its window.
        Reading("xs", d, "water_level", now + i * 10, 1.3 if d in rising else 1.1)
        for i, d in enumerate(DEVICES)
    ] + [Reading("xs", d, "water_level", now + S, 0.5) for d in DEVICES]
    batch(world, readings, now + S)
    assert fired(world) == rising


def test_a_late_reading_after_a_rebuild_is_judged_against_stored_points_at_their_own_times(
    world,
):
    device, now = DEVICES[0], T0 + 3 * MIN
    world.clock.ms = now
    batch(world, [Reading("xs", device, "water_level", T0 + MIN, 0.8)], now)
    batch(world, [Reading("xs", device, "water_level", T0 + 2 * MIN + 900, 0.5)], now)
    restarted(world)
    batch(world, [Reading("xs", device, "water_level", now, 0.55)], now)
    # From inside the second of the stored 0.5, and before it: the level fell, never rose.
    batch(world, [Reading("xs", device, "water_level", T0 + 2 * MIN + 500, 0.8)], now)
    assert fired(world) == set()
