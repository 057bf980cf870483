"""What each kind of device would measure at a moment of simulated time.

A device's character (its gauge datum, its lamp's wattage, its battery's age) is drawn once
from the seed; its readings are then the valley's weather seen through that character plus
a little instrument noise from the `noise` generator handed in.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass

from village_brain.simulator.battery import DAY_MS, Battery
from village_brain.simulator.hydrology import (
    retained_rain,
    retention_window_h,
    runoff,
    runoff_window_h,
    soil_moisture,
)
from village_brain.simulator.layout import SimDevice
from village_brain.simulator.sky import (
    HOUR_MS,
    day_of_year,
    daylight_lux,
    local_hour,
    sun_elevation,
)
from village_brain.simulator.weather import Weather

Raw = dict[str, float | bool]


@dataclass(frozen=True)
class Traits:
    """The fixed character of one device."""

    battery: Battery
    level_datum_m: float
    level_gain_m: float  # metres of rise per mm/h of runoff
    lag_h: float
    turbidity_ntu: float
    ph: float
    rssi_dbm: float
    rated_w: float
    standby_w: float
    photocell_lux: float
    wilting_pct: float
    saturation_pct: float
    pct_per_mm: float
    dry_h: float
    temperature_bias_c: float
    dust_factor: float
    rest_tilt_deg: float


def traits_for(device: SimDevice, seed: int, start_ms: int) -> Traits:
    rng = random.Random(f"traits:{seed}:{device.id}")
    life_days = rng.uniform(700.0, 1100.0)
    # Now and then a device is near the end of its battery, so low-battery alerts have work.
    age_days = life_days * (0.985 if rng.random() < 0.12 else rng.uniform(0.02, 0.7))
    return Traits(
        battery=Battery(installed_ms=start_ms - round(age_days * DAY_MS), life_days=life_days),
        level_datum_m=rng.uniform(0.45, 1.3),
        level_gain_m=rng.uniform(0.18, 0.3),
        lag_h=rng.uniform(2.0, 3.5),
        turbidity_ntu=rng.uniform(3.0, 12.0),
        ph=rng.uniform(7.0, 7.6),
        rssi_dbm=rng.uniform(-108.0, -72.0),
        rated_w=rng.choice((30.0, 40.0, 60.0, 80.0)),
        standby_w=rng.uniform(0.2, 0.6),
        photocell_lux=rng.uniform(30.0, 50.0),
        wilting_pct=rng.uniform(14.0, 20.0),
        saturation_pct=rng.uniform(42.0, 48.0),
        pct_per_mm=rng.uniform(0.9, 1.4),
        dry_h=rng.uniform(50.0, 80.0),
        temperature_bias_c=rng.uniform(-0.4, 0.4),
        dust_factor=rng.uniform(0.85, 1.2),
        rest_tilt_deg=rng.uniform(0.3, 2.5),
    )


class Instrument:
    """One device's sensors: true values at a simulated time, with instrument noise."""

    def __init__(self, device: SimDevice, traits: Traits, weather: Weather) -> None:
        self.device = device
        self.traits = traits
        self.weather = weather
        self._measure = _MEASURES[device.kind]

    def read(self, t_ms: int, since_ms: int, noise: random.Random) -> Raw:
        """Every sensor's value at `t_ms`; `since_ms` is the previous report, for rain counts."""
        return self._measure(self, t_ms, since_ms, noise)

    # Quantities shared by several kinds.

    def runoff(self, t_ms: int) -> float:
        lag = self.traits.lag_h
        t_h = t_ms / HOUR_MS
        return runoff(self.weather.rain.showers(t_h - runoff_window_h(lag), t_h), t_h, lag)

    def water_level(self, t_ms: int) -> float:
        # The dry season's base flow is lower than the summer's.
        base = 0.12 * (1 + math.cos(2 * math.pi * (day_of_year(t_ms) - 180) / 365.25))
        return self.traits.level_datum_m + base + self.traits.level_gain_m * self.runoff(t_ms)

    def ambient_lux(self, t_ms: int) -> float:
        elevation = sun_elevation(t_ms, self.device.lat, self.device.lon)
        return daylight_lux(elevation, self.weather.clearness(t_ms))

    def lamp_on(self, t_ms: int) -> bool:
        return self.ambient_lux(t_ms) < self.traits.photocell_lux

    def lamp_power(self, t_ms: int) -> float:
        return self.traits.rated_w if self.lamp_on(t_ms) else self.traits.standby_w

    def soil_moisture(self, t_ms: int) -> float:
        t = self.traits
        t_h = t_ms / HOUR_MS
        showers = self.weather.rain.showers(t_h - retention_window_h(t.dry_h), t_h)
        held = retained_rain(showers, t_h, t.dry_h)
        return soil_moisture(held, t.wilting_pct, t.saturation_pct, t.pct_per_mm)

    def battery_voltage(self, t_ms: int) -> float:
        return self.traits.battery.voltage(t_ms)


def _gauge(inst: Instrument, t_ms: int, since_ms: int, noise: random.Random) -> Raw:
    return {
        "water_level": inst.water_level(t_ms) + noise.gauss(0, 0.004),
        "rainfall": inst.weather.rain_between(since_ms, t_ms),
        "battery_voltage": inst.battery_voltage(t_ms) + noise.gauss(0, 0.004),
        # Rain on the antenna costs a few dB.
        "rssi": inst.traits.rssi_dbm - 4 * inst.weather.wetness(t_ms) + noise.gauss(0, 2.5),
    }


def _weather_station(inst: Instrument, t_ms: int, since_ms: int, noise: random.Random) -> Raw:
    weather = inst.weather
    pm2_5 = weather.pm2_5(t_ms) * inst.traits.dust_factor * noise.lognormvariate(0, 0.15)
    return {
        "air_temperature": weather.air_temperature(t_ms)
        + inst.traits.temperature_bias_c
        + noise.gauss(0, 0.1),
        "air_humidity": weather.air_humidity(t_ms) + noise.gauss(0, 0.8),
        "rainfall": weather.rain_between(since_ms, t_ms),
        "illuminance": inst.ambient_lux(t_ms) * noise.uniform(0.97, 1.03),
        "pm2_5": pm2_5,
        "pm10": pm2_5 * noise.uniform(1.45, 1.8),
    }


def _street_lamp(inst: Instrument, t_ms: int, _since_ms: int, noise: random.Random) -> Raw:
    on = inst.lamp_on(t_ms)
    return {
        "lamp_state": on,
        "lamp_power": inst.lamp_power(t_ms) * noise.uniform(0.98, 1.02),
        "illuminance": inst.ambient_lux(t_ms) * noise.uniform(0.97, 1.03),
    }


def _soil_probe(inst: Instrument, t_ms: int, _since_ms: int, noise: random.Random) -> Raw:
    weather = inst.weather
    seasonal = weather.seasonal_mean_c(t_ms)
    # The soil follows the air's daily swing weakly and a couple of hours late.
    lagged_air = weather.air_temperature(t_ms - 2 * HOUR_MS)
    return {
        "soil_moisture": inst.soil_moisture(t_ms) + noise.gauss(0, 0.2),
        "soil_temperature": seasonal + 0.35 * (lagged_air - seasonal) + noise.gauss(0, 0.1),
        "battery_voltage": inst.battery_voltage(t_ms) + noise.gauss(0, 0.004),
    }


def _buoy(inst: Instrument, t_ms: int, _since_ms: int, noise: random.Random) -> Raw:
    weather = inst.weather
    flood = min(4.0, inst.runoff(t_ms))
    water_c = 0.85 * weather.seasonal_mean_c(t_ms) + 0.15 * weather.air_temperature(t_ms) + 1.0
    # Algae make oxygen and take up CO2 by day, so both peak in the afternoon.
    sunlit = math.cos(2 * math.pi * (local_hour(t_ms) - 15.0) / 24.0)
    oxygen = _oxygen_saturation(water_c) * (0.9 + 0.07 * sunlit) - 0.25 * flood
    return {
        "water_ph": inst.traits.ph + 0.2 * sunlit - 0.05 * flood + noise.gauss(0, 0.02),
        "turbidity": inst.traits.turbidity_ntu * noise.lognormvariate(0, 0.08)
        + 30.0 * inst.runoff(t_ms),
        "dissolved_oxygen": oxygen + noise.gauss(0, 0.05),
        "battery_voltage": inst.battery_voltage(t_ms) + noise.gauss(0, 0.004),
    }


def _oxygen_saturation(water_c: float) -> float:
    """mg/L of oxygen fresh water holds at sea level (Benson–Krause fit)."""
    t = water_c
    return 14.652 - 0.41022 * t + 0.007991 * t**2 - 0.000077774 * t**3


def _smoke_detector(_inst: Instrument, _t_ms: int, _since_ms: int, noise: random.Random) -> Raw:
    return {"smoke": False, "combustible_gas": abs(noise.gauss(0.3, 0.3))}


def _manhole(inst: Instrument, t_ms: int, _since_ms: int, noise: random.Random) -> Raw:
    return {
        "cover_tilt": abs(inst.traits.rest_tilt_deg + noise.gauss(0, 0.1)),
        "battery_voltage": inst.battery_voltage(t_ms) + noise.gauss(0, 0.004),
    }


def _sluice(inst: Instrument, t_ms: int, _since_ms: int, noise: random.Random) -> Raw:
    # Left where it was set; until a command comes, the keeper's usual opening.
    return {
        "sluice_position": 30.0,
        "battery_voltage": inst.battery_voltage(t_ms) + noise.gauss(0, 0.004),
    }


def _siren(_inst: Instrument, _t_ms: int, _since_ms: int, _noise: random.Random) -> Raw:
    return {"siren_state": False}


_MEASURES: dict[str, Callable[[Instrument, int, int, random.Random], Raw]] = {
    "river_gauge": _gauge,
    "weather_station": _weather_station,
    "street_lamp": _street_lamp,
    "soil_probe": _soil_probe,
    "water_quality_buoy": _buoy,
    "smoke_detector": _smoke_detector,
    "manhole_cover": _manhole,
    "sluice_gate": _sluice,
    "siren": _siren,
}
