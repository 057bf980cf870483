"""Things that go wrong, counted in a device's reports: outages, stuck sensors, alarms.

Counting in reports rather than in time keeps a mishap visible at any speed and rate: an
outage always spans a few missed reports, so the reconnect always carries a batch.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Odds:
    """Chance per report that each mishap begins, and how many reports it lasts."""

    outage: float = 1 / 400
    outage_reports: tuple[int, int] = (3, 8)
    stuck: float = 1 / 300
    stuck_reports: tuple[int, int] = (6, 15)
    smoke: float = 1 / 4000
    gas: float = 1 / 4000
    tilt: float = 1 / 3000
    incident_reports: tuple[int, int] = (2, 5)


# Which sensor each incident takes over.
INCIDENT_SENSORS = {"smoke": "smoke", "gas": "combustible_gas", "tilt": "cover_tilt"}


@dataclass
class Mishaps:
    """The running mishaps of one device; `step` once per report."""

    sensors: tuple[str, ...]
    numeric: tuple[str, ...]
    rng: random.Random
    odds: Odds = field(default_factory=Odds)
    outage_left: int = 0
    stuck_left: dict[str, int] = field(default_factory=dict)
    incident_left: dict[str, int] = field(default_factory=dict)

    @property
    def offline(self) -> bool:
        return self.outage_left > 0

    def stuck(self) -> set[str]:
        return set(self.stuck_left)

    def incidents(self) -> set[str]:
        return set(self.incident_left)

    def step(self) -> set[str]:
        """Advance one report; returns the incidents that begin now."""
        self.outage_left = max(0, self.outage_left - 1)
        if not self.outage_left and self.rng.random() < self.odds.outage:
            self.outage_left = self.rng.randint(*self.odds.outage_reports)
        _count_down(self.stuck_left)
        if self.numeric and self.rng.random() < self.odds.stuck:
            self.stuck_left[self.rng.choice(self.numeric)] = self.rng.randint(
                *self.odds.stuck_reports
            )
        _count_down(self.incident_left)
        begun = set()
        for incident, sensor in INCIDENT_SENSORS.items():
            chance = getattr(self.odds, incident)
            if sensor not in self.sensors or incident in self.incident_left:
                continue
            if self.rng.random() < chance:
                self.incident_left[incident] = self.rng.randint(*self.odds.incident_reports)
                begun.add(incident)
        return begun


def _count_down(left: dict[str, int]) -> None:
    for name in list(left):
        left[name] -= 1
        if left[name] <= 0:
            del left[name]
