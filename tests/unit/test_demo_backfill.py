"""The demo's history: the simulated village's last days, made in seconds, ending now."""

from __future__ import annotations

import time

from village_brain.core.catalog import default_catalog
from village_brain.simulator import village_layout
from village_brain.simulator.backfill import DAY_MS, MIN_STEP_MS, backfill, history

NOW = 1_796_000_000_000


def test_three_days_for_twenty_four_devices_take_seconds_not_minutes() -> None:
    layout = village_layout(24)
    written: list[int] = []
    began = time.monotonic()
    done = backfill(layout, default_catalog(), lambda batch: written.append(len(batch)), NOW)
    took = time.monotonic() - began
    assert done.readings == sum(written) > 20_000
    assert done.first_ms == NOW - 3 * DAY_MS
    assert took < 20, f"{took:.1f} s"


def test_every_device_reports_across_the_days_and_once_more_at_the_end() -> None:
    layout = village_layout(12)
    readings = [r for batch in history(layout, default_catalog(), NOW - DAY_MS, NOW) for r in batch]
    for device in layout:
        times = sorted({r.ts_ms for r in readings if r.device == device.id})
        assert times[0] - (NOW - DAY_MS) <= 2 * MIN_STEP_MS, device.id
        assert times[-1] == NOW, device.id  # not silent when the live part begins
        assert len(times) >= 24, device.id  # at least hourly, the slowest sensors' pace
    assert all(NOW - DAY_MS <= r.ts_ms <= NOW for r in readings)


def test_values_stay_inside_their_sensor_types_ranges() -> None:
    catalog = default_catalog()
    for batch in history(village_layout(24), catalog, NOW - DAY_MS, NOW):
        for reading in batch:
            sensor = catalog.types[reading.sensor]
            assert sensor.min is None or reading.value >= sensor.min, reading
            assert sensor.max is None or reading.value <= sensor.max, reading


def test_the_same_seed_makes_the_same_history() -> None:
    def first_batch(seed: int) -> list:
        return next(history(village_layout(6), default_catalog(), NOW - DAY_MS, NOW, seed))

    assert first_batch(7) == first_batch(7)
    assert first_batch(7) != first_batch(8)


def test_batches_come_oldest_first() -> None:
    starts = [
        batch[0].ts_ms for batch in history(village_layout(6), default_catalog(), NOW - DAY_MS, NOW)
    ]
    assert starts == sorted(starts)
