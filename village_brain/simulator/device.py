"""One simulated device deciding, report by report, what it measured and whether it is online.

No networking here: a turn says what the device would send, and the publisher sends it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from village_brain.core.catalog import Catalog
from village_brain.simulator.instruments import Instrument
from village_brain.simulator.mishaps import Mishaps, Odds
from village_brain.simulator.quantize import Reported, settle

# The first report counts rain over one typical rain-gauge interval.
_FIRST_RAIN_WINDOW_MS = 10 * 60_000


@dataclass(frozen=True)
class Sample:
    ts_ms: int
    values: dict[str, Reported]


@dataclass(frozen=True)
class Event:
    type: str
    ts_ms: int
    data: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class Turn:
    online: bool
    sample: Sample
    events: tuple[Event, ...] = ()


class SimulatedDevice:
    def __init__(
        self,
        instrument: Instrument,
        catalog: Catalog,
        rng: random.Random,
        odds: Odds | None = None,
    ) -> None:
        self.device = instrument.device
        self.instrument = instrument
        self._types = {sensor: catalog.types[sensor] for sensor in self.device.sensors}
        numeric = tuple(s for s, t in self._types.items() if t.kind == "number")
        self._rng = rng
        self.mishaps = Mishaps(self.device.sensors, numeric, rng, odds or Odds())
        self._held: dict[str, Reported] = {}
        self._last_sim_ms: int | None = None

    def turn(self, sim_ms: int, wall_ms: int) -> Turn:
        begun = self.mishaps.step()
        last = self._last_sim_ms
        since = sim_ms - _FIRST_RAIN_WINDOW_MS if last is None else last
        self._last_sim_ms = sim_ms
        raw = self.instrument.read(sim_ms, since, self._rng)
        values = {
            sensor: settle(self._types[sensor], raw[sensor]) for sensor in self.device.sensors
        }
        for sensor in self.mishaps.stuck():
            if sensor in self._held:
                values[sensor] = self._held[sensor]
        self._held.update(values)
        events = self._incidents(values, begun, wall_ms)
        return Turn(not self.mishaps.offline, Sample(wall_ms, values), events)

    def _incidents(
        self, values: dict[str, Reported], begun: set[str], wall_ms: int
    ) -> tuple[Event, ...]:
        active = self.mishaps.incidents()
        rng = self._rng
        if "smoke" in active:
            values["smoke"] = True
        if "gas" in active:
            values["combustible_gas"] = settle(self._types["combustible_gas"], rng.uniform(12, 45))
        if "tilt" in active:
            values["cover_tilt"] = settle(self._types["cover_tilt"], rng.uniform(18, 85))
        place = {"place": self.device.place}
        events = []
        if "smoke" in begun:
            events.append(Event("smoke_alarm", wall_ms, place))
        if "gas" in begun:
            lel = values["combustible_gas"]
            events.append(Event("gas_leak", wall_ms, {**place, "combustible_gas": lel}))
        if "tilt" in begun:
            tilt = values["cover_tilt"]
            events.append(Event("cover_displaced", wall_ms, {**place, "cover_tilt": tilt}))
        return tuple(events)
