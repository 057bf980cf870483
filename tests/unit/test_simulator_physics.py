"""The simulated valley behaves like a real one: rivers, soil, lamps, air and batteries."""

from datetime import datetime, timedelta, timezone

from village_brain.simulator.battery import DAY_MS, Battery
from village_brain.simulator.hydrology import retained_rain, runoff, soil_moisture
from village_brain.simulator.instruments import Instrument, traits_for
from village_brain.simulator.layout import village_layout
from village_brain.simulator.sky import HOUR_MS
from village_brain.simulator.weather import FixedRain, Shower, Weather

CST = timezone(timedelta(hours=8))
MIDSUMMER = round(datetime(2026, 6, 21, tzinfo=CST).timestamp() * 1000)
MIDWINTER = round(datetime(2026, 12, 21, tzinfo=CST).timestamp() * 1000)
START_H = MIDSUMMER / HOUR_MS
STORM = Shower(START_H + 10, START_H + 14, 8.0)


def _instrument(kind: str, rain: list[Shower]) -> Instrument:
    device = next(d for d in village_layout(24) if d.kind == kind)
    return Instrument(device, traits_for(device, 7, MIDSUMMER), Weather(FixedRain(rain), 7))


def _at(hours: float) -> int:
    return MIDSUMMER + round(hours * HOUR_MS)


def test_river_runoff_is_nil_before_the_rain():
    assert runoff([STORM], START_H + 9, lag_h=3.0) == 0.0


def test_river_keeps_rising_after_the_rain_stops_then_recedes():
    def flow(h: float) -> float:
        return runoff([STORM], START_H + h, lag_h=3.0)

    assert flow(12) > flow(10.5)
    assert flow(16) > flow(14), "the peak lags the end of the rain"
    assert flow(36) < flow(16) / 5, "a day later the flood has mostly gone"


def test_gauge_level_stands_higher_after_a_storm_than_before_it():
    gauge = _instrument("river_gauge", [STORM])
    before, peak, next_week = (
        gauge.water_level(_at(9)),
        gauge.water_level(_at(16)),
        gauge.water_level(_at(170)),
    )
    assert peak > before + 0.5
    assert abs(next_week - before) < 0.05


def test_soil_dries_steadily_between_rains():
    held = [retained_rain([STORM], START_H + h, dry_h=60.0) for h in (14, 24, 48, 96)]
    assert held == sorted(held, reverse=True)
    assert held[-1] < held[0] / 2


def test_soil_moisture_rises_with_rain_and_never_passes_saturation():
    probe = _instrument("soil_probe", [STORM, Shower(START_H + 20, START_H + 30, 30.0)])
    dry, wet = probe.soil_moisture(_at(9)), probe.soil_moisture(_at(30))
    assert wet > dry + 5
    assert wet <= probe.traits.saturation_pct
    assert soil_moisture(10_000.0, 15.0, 45.0, 1.2) <= 45.0


def test_soil_with_no_rain_rests_at_its_wilting_point():
    probe = _instrument("soil_probe", [])
    assert probe.soil_moisture(_at(12)) == probe.traits.wilting_pct


def test_street_lamps_are_on_at_midnight_drawing_their_rated_power():
    lamp = _instrument("street_lamp", [])
    for midnight in (MIDSUMMER, MIDWINTER):
        assert lamp.lamp_on(midnight)
        assert lamp.lamp_power(midnight) == lamp.traits.rated_w


def test_street_lamps_are_off_at_noon_drawing_almost_nothing():
    lamp = _instrument("street_lamp", [STORM])
    for noon in (_at(12), MIDWINTER + 12 * HOUR_MS):
        assert not lamp.lamp_on(noon)
        assert lamp.lamp_power(noon) < 1.0


def test_street_lamps_switch_on_at_dusk_and_off_at_dawn():
    lamp = _instrument("street_lamp", [])
    states = [lamp.lamp_on(_at(m / 60)) for m in range(0, 24 * 60, 5)]
    switches = [i for i in range(1, len(states)) if states[i] != states[i - 1]]
    dawn, dusk = (s * 5 / 60 for s in switches)
    assert len(switches) == 2
    assert 4.5 < dawn < 5.5 and 19.0 < dusk < 20.0  # midsummer in Zhejiang


def test_afternoons_are_warmer_and_drier_than_the_small_hours():
    weather = Weather(FixedRain([]), 7)
    assert weather.air_temperature(_at(15)) > weather.air_temperature(_at(4)) + 3
    assert weather.air_humidity(_at(15)) < weather.air_humidity(_at(4)) - 10


def test_summer_is_warmer_than_winter():
    weather = Weather(FixedRain([]), 7)
    assert weather.air_temperature(_at(12)) > weather.air_temperature(MIDWINTER + 12 * HOUR_MS) + 12


def test_a_rain_gauge_counts_only_the_rain_in_its_window():
    weather = Weather(FixedRain([STORM]), 7)
    assert weather.rain_between(_at(11), _at(12)) == 8.0
    assert weather.rain_between(_at(0), _at(48)) == 32.0
    assert weather.rain_between(_at(15), _at(20)) == 0.0


def test_battery_voltage_falls_as_the_months_pass():
    battery = Battery(installed_ms=MIDSUMMER, life_days=900)
    volts = [battery.voltage(MIDSUMMER + days * DAY_MS) for days in (0, 100, 400, 800, 899)]
    assert volts == sorted(volts, reverse=True)
    assert volts[0] > 3.55 and volts[-1] < 3.4


def test_the_same_seed_gives_the_same_rain():
    a, b = Weather.seeded(3), Weather.seeded(3)
    week = [(_at(h), _at(h + 1)) for h in range(0, 24 * 7)]
    assert [a.rain_between(*w) for w in week] == [b.rain_between(*w) for w in week]
    assert sum(a.rain_between(*w) for w in week) > 0
