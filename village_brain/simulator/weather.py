"""Valley weather as pure functions of simulated time: rain, sky, air temperature, humidity, dust.

The same seed gives the same weather at the same moment, whichever device asks and however
often, so every instrument in the valley agrees about when it rained.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol

from village_brain.simulator.sky import CST_OFFSET_H, HOUR_MS, day_of_year, local_hour

# How long the ground and air stay wet after a shower, in hours.
WET_FADE_H = 3.0


@dataclass(frozen=True)
class Shower:
    """Rain at a steady rate between two times, in hours since the epoch."""

    start_h: float
    end_h: float
    rate_mm_h: float


class RainSchedule(Protocol):
    def showers(self, from_h: float, to_h: float) -> Sequence[Shower]:
        """The showers that overlap [from_h, to_h]."""
        ...


class FixedRain:
    """A rain schedule given outright: for tests and for staging a demo storm."""

    def __init__(self, showers: Sequence[Shower]) -> None:
        self._showers = tuple(showers)

    def showers(self, from_h: float, to_h: float) -> Sequence[Shower]:
        return [s for s in self._showers if s.end_h >= from_h and s.start_h <= to_h]


class SeededRain:
    """Zhejiang rain: wet about half the days, most of all in the plum-rain weeks of June."""

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def showers(self, from_h: float, to_h: float) -> Sequence[Shower]:
        # A shower may begin the day before and last into the window.
        first, last = _local_day(from_h) - 1, _local_day(to_h)
        return [
            shower
            for day in range(first, last + 1)
            for shower in _day_showers(self.seed, day)
            if shower.end_h >= from_h and shower.start_h <= to_h
        ]


def _local_day(t_h: float) -> int:
    return math.floor((t_h + CST_OFFSET_H) / 24.0)


@lru_cache(maxsize=256)
def _day_showers(seed: int, day: int) -> tuple[Shower, ...]:
    rng = random.Random(f"rain:{seed}:{day}")
    doy = day_of_year(round((day * 24 + 12 - CST_OFFSET_H) * HOUR_MS))
    wet_chance = 0.38 + 0.3 * math.exp(-(((doy - 170) / 22.0) ** 2))
    if rng.random() > wet_chance:
        return ()
    midnight_h = day * 24.0 - CST_OFFSET_H
    showers = []
    for _ in range(rng.choice((1, 1, 2, 3))):
        start = midnight_h + rng.uniform(0.0, 24.0)
        duration = min(10.0, 0.5 + rng.expovariate(1 / 2.5))
        rate = min(30.0, max(0.3, rng.lognormvariate(math.log(2.5), 0.8)))
        showers.append(Shower(start, start + duration, rate))
    return tuple(showers)


class Weather:
    def __init__(self, rain: RainSchedule, seed: int = 7) -> None:
        self.rain = rain
        self.seed = seed
        phases = random.Random(f"weather:{seed}")
        self._warm_spell_phases = (phases.uniform(0, 2 * math.pi), phases.uniform(0, 2 * math.pi))

    @classmethod
    def seeded(cls, seed: int) -> Weather:
        return cls(SeededRain(seed), seed)

    def rain_rate(self, t_ms: int) -> float:
        """mm/h falling at this moment."""
        t_h = t_ms / HOUR_MS
        return sum(s.rate_mm_h for s in self.rain.showers(t_h, t_h) if s.start_h <= t_h < s.end_h)

    def rain_between(self, from_ms: int, to_ms: int) -> float:
        """mm fallen from one moment to the next: what a tipping-bucket gauge counts."""
        a, b = from_ms / HOUR_MS, to_ms / HOUR_MS
        if b <= a:
            return 0.0
        return sum(
            s.rate_mm_h * max(0.0, min(b, s.end_h) - max(a, s.start_h))
            for s in self.rain.showers(a, b)
        )

    def wetness(self, t_ms: int) -> float:
        """1 while it rains, fading to 0 over the hours after."""
        t_h = t_ms / HOUR_MS
        wet = 0.0
        for s in self.rain.showers(t_h - 6 * WET_FADE_H, t_h):
            if s.start_h <= t_h < s.end_h:
                return 1.0
            if t_h >= s.end_h:
                wet = max(wet, math.exp(-(t_h - s.end_h) / WET_FADE_H))
        return wet

    def clearness(self, t_ms: int) -> float:
        """How clear the sky is, 0 (dark storm) to 1 (cloudless)."""
        # Each day's cloud cover is fixed at noon; between noons it changes gradually.
        from_noon = (t_ms / HOUR_MS + CST_OFFSET_H - 12.0) / 24.0
        day = math.floor(from_noon)
        share = from_noon - day
        sky = (1 - share) * self._day_sky(day) + share * self._day_sky(day + 1)
        return sky * (1.0 - 0.85 * self.wetness(t_ms))

    def _day_sky(self, day: int) -> float:
        return random.Random(f"sky:{self.seed}:{day}").uniform(0.3, 1.0)

    def seasonal_mean_c(self, t_ms: int) -> float:
        """Daily mean temperature for the time of year: about 5 °C in January, 29 °C in July."""
        return 17.0 - 12.0 * math.cos(2 * math.pi * (day_of_year(t_ms) - 20) / 365.25)

    def air_temperature(self, t_ms: int) -> float:
        days = t_ms / (24 * HOUR_MS)
        a, b = self._warm_spell_phases
        spell = 2.2 * math.sin(2 * math.pi * days / 5.3 + a) + 1.0 * math.sin(
            2 * math.pi * days / 2.1 + b
        )
        swing = 2.0 + 3.5 * self.clearness(t_ms)
        daily = swing * math.cos(2 * math.pi * (local_hour(t_ms) - 15.0) / 24.0)
        return self.seasonal_mean_c(t_ms) + spell + daily - 2.0 * self.wetness(t_ms)

    def air_humidity(self, t_ms: int) -> float:
        # Relative humidity is lowest in the warm afternoon and near saturation in the rain.
        daily = -16.0 * math.cos(2 * math.pi * (local_hour(t_ms) - 15.0) / 24.0)
        dry = 70.0 + daily - 8.0 * (self.clearness(t_ms) - 0.5)
        wet = self.wetness(t_ms)
        return max(25.0, min(100.0, (1 - wet) * dry + wet * 97.0))

    def pm2_5(self, t_ms: int) -> float:
        """Fine dust before instrument noise: winter haze, cooking fires at dusk, rain washout."""
        season = 38.0 + 22.0 * math.cos(2 * math.pi * (day_of_year(t_ms) - 15) / 365.25)
        hour = local_hour(t_ms)
        daily = (
            1.0
            + 0.25 * math.exp(-(((hour - 7.5) / 1.5) ** 2))
            + 0.4 * math.exp(-(((hour - 18.5) / 1.8) ** 2))
        )
        return season * daily * (1.0 - 0.6 * self.wetness(t_ms))
