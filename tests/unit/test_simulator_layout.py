"""The simulated village: where its devices stand and what they report."""

import math
import random
from collections import Counter

import pytest

from village_brain.core.catalog import default_catalog
from village_brain.core.ids import id_problem
from village_brain.simulator.device import SimulatedDevice
from village_brain.simulator.instruments import Instrument, traits_for
from village_brain.simulator.kinds import KINDS
from village_brain.simulator.layout import village_layout
from village_brain.simulator.sky import HOUR_MS
from village_brain.simulator.weather import Weather

START_MS = 1_780_000_000_000  # June 2026


def test_the_same_seed_gives_the_same_village():
    assert village_layout(30, seed=5) == village_layout(30, seed=5)


def test_another_seed_moves_the_devices():
    assert village_layout(30, seed=5) != village_layout(30, seed=6)


@pytest.mark.parametrize("count", [1, 7, 24, 100])
def test_the_village_has_exactly_the_devices_asked_for_with_unique_valid_ids(count):
    layout = village_layout(count)
    assert len(layout) == count
    assert len({d.id for d in layout}) == count
    assert all(id_problem("device", d.id) is None for d in layout)
    assert all(id_problem("village", d.village) is None for d in layout)


def test_a_village_of_as_many_devices_as_kinds_has_one_of_every_kind():
    assert Counter(d.kind for d in village_layout(len(KINDS))) == {kind.name: 1 for kind in KINDS}


def test_street_lamps_are_the_commonest_device():
    kinds = Counter(d.kind for d in village_layout(48)).most_common()
    assert kinds[0][0] == "street_lamp"


def test_every_device_sensor_is_in_the_catalog():
    catalog = default_catalog()
    assert all(s in catalog.types for d in village_layout(100) for s in d.sensors)


def test_devices_stand_within_two_kilometres_of_their_village_centre():
    for village in {d.village for d in village_layout(60)}:
        devices = [d for d in village_layout(60) if d.village == village]
        lat0 = sum(d.lat for d in devices) / len(devices)
        lon0 = sum(d.lon for d in devices) / len(devices)
        for d in devices:
            north = (d.lat - lat0) * 111_320
            east = (d.lon - lon0) * 111_320 * math.cos(math.radians(lat0))
            assert math.hypot(north, east) < 2_000


def test_every_device_has_a_place_name_in_chinese():
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in d.place) for d in village_layout(60))


def test_every_reported_value_lies_inside_its_sensor_types_range():
    catalog = default_catalog()
    weather = Weather.seeded(11)
    devices = [
        SimulatedDevice(
            Instrument(d, traits_for(d, 11, START_MS), weather), catalog, random.Random(d.id)
        )
        for d in village_layout(24, seed=11)
    ]
    # Every five hours and a bit for a year, so every hour of the day and season comes up.
    for step in range(0, 365 * 24 // 5):
        t_ms = START_MS + step * 5 * HOUR_MS + step * 7 * 60_000
        for device in devices:
            for sensor, value in device.turn(t_ms, t_ms).sample.values.items():
                kind = catalog.types[sensor]
                if kind.kind == "boolean":
                    assert isinstance(value, bool), (sensor, value)
                else:
                    assert kind.in_range(value), (device.device.id, sensor, value)
