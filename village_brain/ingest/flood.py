"""The flood guard: a device sending a sensor far more often than its type expects is throttled.

Readings are counted per device and sensor in windows of the readings' *own* time, not of
the time they arrive. After an ingest outage the broker hands over the whole queue at once;
counted on arrival, a healthy device's backlog would look like a flood and be thrown away.
Counted on its timestamps, the same backlog spreads over the windows it was measured in.
Readings without a timestamp take their arrival time, so a device stuck in a loop sending
unstamped readings fills the current window and is stopped there.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from village_brain.core.catalog import Catalog
from village_brain.core.records import Problem
from village_brain.core.timefmt import format_ms

log = logging.getLogger(__name__)

OnThrottle = Callable[[str, int], None]

# Status and event messages have no sensor type; they get a budget of their own.
STATUS_KEY = "status"
EVENT_KEY = "event"
# A window untouched for this long (by arrival time) is forgotten, which bounds memory.
_FORGET_AFTER_MS = 10 * 60_000


class FloodGuard:
    """Counts readings per (device, sensor, window) and refuses those past the window's budget.

    Runs in the writer thread only, so it keeps its counts without a lock.
    """

    def __init__(
        self,
        catalog: Catalog,
        window_ms: int,
        factor: float,
        min_readings: int,
        on_throttle: OnThrottle | None = None,
    ) -> None:
        self.window_ms = window_ms
        self._budgets = {
            sensor_id: max(min_readings, int(factor * window_ms / sensor.interval_ms))
            for sensor_id, sensor in catalog.types.items()
        }
        self._intervals = {sensor_id: t.interval for sensor_id, t in catalog.types.items()}
        self._min_readings = min_readings
        self._on_throttle = on_throttle
        self._counts: dict[tuple[str, str, int], list[int]] = {}  # key -> [count, last arrival]
        self._next_sweep_ms = 0

    def budget(self, key: str) -> int:
        """Readings of `key` (a sensor type, or status/event) one device may send per window."""
        return self._budgets.get(key, self._min_readings)

    def check(self, device: str, key: str, ts_ms: int, received_ms: int) -> Problem | None:
        """Count one reading; a Problem (rate_limited) when it is over its window's budget."""
        self._sweep(received_ms)
        window = ts_ms // self.window_ms
        entry = self._counts.setdefault((device, key, window), [0, received_ms])
        entry[0] += 1
        entry[1] = received_ms
        budget = self.budget(key)
        if entry[0] <= budget:
            return None
        if entry[0] == budget + 1:
            log.warning(
                "device %s is flooding: more than %d %s readings in the window from %s; "
                "refusing the rest of that window (rate_limited)",
                device,
                budget,
                key,
                format_ms(window * self.window_ms),
            )
        if self._on_throttle is not None:
            self._on_throttle(device, received_ms)
        sensor = key if key in self._intervals else None
        return Problem("rate_limited", self._detail(device, key, window, budget), sensor)

    def _detail(self, device: str, key: str, window: int, budget: int) -> str:
        expected = self._intervals.get(key)
        why = f"; its sensor type reports every {expected}" if expected else ""
        return (
            f"device {device!r} sent more than {budget:,} {key} readings timed in the "
            f"{_span(self.window_ms)} from {format_ms(window * self.window_ms)}{why}; "
            "the rest of that window is refused"
        )

    def _sweep(self, now_ms: int) -> None:
        if now_ms < self._next_sweep_ms:
            return
        self._next_sweep_ms = now_ms + 60_000
        stale = [key for key, (_, seen) in self._counts.items() if now_ms - seen > _FORGET_AFTER_MS]
        for key in stale:
            del self._counts[key]


def _span(ms: int) -> str:
    return f"{ms // 60_000} min" if ms >= 60_000 else f"{ms / 1000:g} s"
