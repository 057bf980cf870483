"""Simulated devices report by report: mishaps, alarms, report rates and the clock."""

import random
from collections import Counter

from village_brain.core.catalog import default_catalog
from village_brain.simulator.clock import SimClock
from village_brain.simulator.device import SimulatedDevice
from village_brain.simulator.instruments import Instrument, traits_for
from village_brain.simulator.layout import village_layout
from village_brain.simulator.mishaps import Odds
from village_brain.simulator.schedule import StrideSchedule, report_weight
from village_brain.simulator.weather import Weather

NOW = 1_780_000_000_000
CALM = Odds(outage=0, stuck=0, smoke=0, gas=0, tilt=0)


def _device(kind: str, odds: Odds) -> SimulatedDevice:
    device = next(d for d in village_layout(24) if d.kind == kind)
    instrument = Instrument(device, traits_for(device, 7, NOW), Weather.seeded(7))
    return SimulatedDevice(instrument, default_catalog(), random.Random(1), odds)


def _turns(device: SimulatedDevice, count: int) -> list:
    return [device.turn(NOW + n * 300_000, NOW + n * 300_000) for n in range(count)]


def test_a_calm_device_stays_online_and_reports_every_sensor():
    turns = _turns(_device("river_gauge", CALM), 50)
    assert all(t.online for t in turns)
    assert all(
        set(t.sample.values) == {"water_level", "rainfall", "battery_voltage", "rssi"}
        for t in turns
    )


def test_an_outage_lasts_its_count_of_reports_then_the_device_returns():
    device = _device("soil_probe", Odds(outage=1.0, outage_reports=(3, 3), stuck=0))
    first = device.turn(NOW, NOW)
    device.mishaps.odds = CALM
    later = _turns(device, 4)
    assert [first.online, *(t.online for t in later)] == [False, False, False, True, True]


def test_a_stuck_sensor_repeats_its_last_good_value():
    device = _device("weather_station", CALM)
    before = _turns(device, 5)[-1]
    device.mishaps.odds = Odds(outage=0, stuck=1.0, stuck_reports=(10, 10))
    device.turn(NOW + 10**7, NOW + 10**7)
    device.mishaps.odds = CALM
    (stuck,) = device.mishaps.stuck()
    after = [device.turn(NOW + n * 10**7, NOW + n * 10**7) for n in range(2, 9)]
    assert {t.sample.values[stuck] for t in after} == {before.sample.values[stuck]}


def test_a_smoke_alarm_sets_smoke_and_sends_one_event():
    odds = Odds(outage=0, stuck=0, smoke=1.0, incident_reports=(3, 3), gas=0, tilt=0)
    turns = _turns(_device("smoke_detector", odds), 3)
    assert all(t.sample.values["smoke"] is True for t in turns)
    assert [e.type for t in turns for e in t.events] == ["smoke_alarm"]


def test_a_displaced_manhole_cover_reports_a_steep_tilt():
    odds = Odds(outage=0, stuck=0, smoke=0, gas=0, tilt=1.0, incident_reports=(2, 2))
    turn = _turns(_device("manhole_cover", odds), 1)[0]
    assert turn.sample.values["cover_tilt"] > 15
    assert turn.events[0].type == "cover_displaced"


def test_fast_reporting_devices_get_more_turns_than_slow_ones():
    catalog = default_catalog()
    layout = village_layout(7)
    schedule = StrideSchedule([report_weight(catalog, d.sensors) for d in layout])
    turns = Counter(layout[schedule.next()].kind for _ in range(700))
    assert turns["river_gauge"] > 2 * turns["manhole_cover"] > 0


def test_the_clock_runs_speed_times_faster_than_the_wall():
    wall = [NOW]
    clock = SimClock(speed=60, wall_ms=lambda: wall[0])
    wall[0] += 1000
    assert clock.sim_ms() == NOW + 60_000
    assert clock.wall_ms() == NOW + 1000
