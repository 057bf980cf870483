"""Days of believable history for the demo, written straight into the store at start.

A demo that opens on empty charts shows nothing of what the server is for, so before the live
simulation starts the same devices (same seed, same weather, same characters) are walked
through the past few days, one report every few minutes, and their readings go to the store's
write API in batches; MQTT would take many minutes for what this does in seconds. The alert
engine is handed each batch as ingest would hand it, so the alert history fills too.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from village_brain.core.catalog import Catalog
from village_brain.core.records import Reading
from village_brain.simulator.device import SimulatedDevice
from village_brain.simulator.instruments import Instrument, traits_for
from village_brain.simulator.layout import SimDevice
from village_brain.simulator.mishaps import Odds
from village_brain.simulator.weather import Weather

DAY_MS = 86_400_000
# Coarser than the devices really report: enough points for every chart, few enough to be quick.
MIN_STEP_MS = 10 * 60_000
BATCH_STEPS = 12  # time steps of the whole village per write
# Reports here are fewer than a real device's, so mishaps are made likelier in proportion:
# over a few days the alert history then holds a handful of smoke, gas and cover incidents.
HISTORY_ODDS = Odds(smoke=1 / 500, gas=1 / 500, tilt=1 / 400, stuck=1 / 150, outage=1 / 200)


@dataclass(frozen=True)
class Backfilled:
    readings: int
    first_ms: int
    last_ms: int


def history(
    layout: Sequence[SimDevice], catalog: Catalog, start_ms: int, end_ms: int, seed: int = 7
) -> Iterator[list[Reading]]:
    """The village's readings from `start_ms` to `end_ms`, in time order, a batch at a time."""
    weather = Weather.seeded(seed)
    walkers = [_Walker.of(device, catalog, weather, seed, start_ms) for device in layout]
    batch: list[Reading] = []
    steps = 0
    t = start_ms
    while t < end_ms:
        for walker in walkers:
            batch.extend(walker.at(t))
        steps += 1
        if steps % BATCH_STEPS == 0:
            yield batch
            batch = []
        t += MIN_STEP_MS
    # Every device reports at the very end too, so none looks silent when the live part begins.
    for walker in walkers:
        walker.next_ms = end_ms
        batch.extend(walker.at(end_ms))
    yield batch


def backfill(
    layout: Sequence[SimDevice],
    catalog: Catalog,
    write: Callable[[Sequence[Reading]], object],
    end_ms: int,
    days: float = 3.0,
    seed: int = 7,
) -> Backfilled:
    """Writes `days` of history ending at `end_ms` through `write` (the store's, then the
    alert engine's listener), oldest first."""
    start_ms = end_ms - round(days * DAY_MS)
    count = 0
    for batch in history(layout, catalog, start_ms, end_ms, seed):
        write(batch)
        count += len(batch)
    return Backfilled(count, start_ms, end_ms)


@dataclass
class _Walker:
    device: SimDevice
    sim: SimulatedDevice
    step_ms: int
    next_ms: int

    @classmethod
    def of(
        cls, device: SimDevice, catalog: Catalog, weather: Weather, seed: int, start_ms: int
    ) -> _Walker:
        instrument = Instrument(device, traits_for(device, seed, start_ms), weather)
        noise = random.Random(f"history:{seed}:{device.id}")
        sim = SimulatedDevice(instrument, catalog, noise, HISTORY_ODDS)
        intervals = [catalog.types[s].interval_ms for s in device.sensors if s in catalog.types]
        step = max(MIN_STEP_MS, min(intervals, default=MIN_STEP_MS))
        return cls(device, sim, step, start_ms)

    def at(self, t_ms: int) -> list[Reading]:
        if t_ms < self.next_ms:
            return []
        self.next_ms = t_ms + self.step_ms
        turn = self.sim.turn(t_ms, t_ms)
        if not turn.online:
            return []  # an outage leaves a gap in the charts, as a real one does
        # On/off states first: a rule that holds only while a lamp is on reads its state.
        values = sorted(turn.sample.values.items(), key=lambda item: not isinstance(item[1], bool))
        return [
            Reading(self.device.village, self.device.id, sensor, t_ms, float(value))
            for sensor, value in values
        ]
