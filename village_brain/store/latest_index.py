"""The fleet's latest values kept in memory beside the writes, for either backend.

The device list, `/latest` and the overview each need the newest point of every series.
InfluxDB 1.x answers that series by series: with 10,000 devices × 4 sensors it took
1.0–2.2 s on two cores whichever statement asked it (docs/benchmarks.md); SQLite takes a
pass over two tables, 70–180 ms. The store sees every point the service writes, so it keeps
each series' newest point itself: read from the backend when first asked, then moved on by
each write, and read again in the background every `refresh_s`, so points others put into
the database appear too (and retention done by a server shows) within that time.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence

from village_brain.core.records import Reading
from village_brain.store.base import LatestValue

log = logging.getLogger(__name__)

REFRESH_S = 30.0

Fleet = dict[str, list[LatestValue]]
_Newest = dict[str, dict[str, LatestValue]]  # device -> sensor -> newest point


class LatestIndex:
    def __init__(
        self,
        read: Callable[[], Fleet],
        refresh_s: float = REFRESH_S,
        clock: Callable[[], float] = time.monotonic,
        *,
        last_write_wins: bool = True,
    ) -> None:
        """`last_write_wins`: whether a second point at a series' newest time replaces the
        value, as in InfluxDB; SQLite keeps the first."""
        self._read = read
        self._last_wins = last_write_wins
        self._refresh_s = refresh_s
        self._clock = clock
        self._lock = threading.Lock()
        self._first_read = threading.Lock()
        self._newest: _Newest | None = None
        # Each device's sorted answer, kept until its next write: a fleet request then
        # sorts only the devices written since the last one.
        self._sorted: Fleet = {}
        self._read_at = 0.0
        # Written while a read of the backend was under way: applied again on its answer,
        # which may have been taken before they arrived.
        self._meanwhile: list[Reading] | None = None

    def fleet(self) -> Fleet:
        """Every device's newest point of each sensor, sorted by sensor."""
        if self._newest is None:
            with self._first_read:  # concurrent first requests share one read
                if self._newest is None:
                    self._refresh()
        elif self._clock() - self._read_at >= self._refresh_s:
            self._refresh_soon()
        with self._lock:
            newest, ready = self._newest or {}, self._sorted
            if len(ready) != len(newest):
                for device, by_sensor in newest.items():
                    if device not in ready:
                        ready[device] = sorted(by_sensor.values(), key=_sensor)
            # The lists are replaced on a write, never changed: the copy is the caller's.
            return dict(ready)

    def written(self, readings: Sequence[Reading]) -> None:
        """Points the store has written (or spooled, and will write)."""
        with self._lock:
            if self._meanwhile is not None:
                self._meanwhile.extend(readings)
            if self._newest is not None:
                _apply(self._newest, readings, self._last_wins)
                for r in readings:
                    self._sorted.pop(r.device, None)

    def forget_before(self, cutoff_ms: int) -> None:
        with self._lock:
            if self._newest is None:
                return
            self._sorted = {}
            for device in list(self._newest):
                kept = {s: v for s, v in self._newest[device].items() if v.ts_ms >= cutoff_ms}
                if kept:
                    self._newest[device] = kept
                else:
                    del self._newest[device]

    def _refresh_soon(self) -> None:
        with self._lock:
            if self._meanwhile is not None:
                return  # already under way
            self._read_at = self._clock()  # a failed read is tried again a period later
        threading.Thread(target=self._refresh_quietly, name="influx-latest", daemon=True).start()

    def _refresh_quietly(self) -> None:
        try:
            self._refresh()
        except Exception:
            log.warning("could not read the fleet's latest values", exc_info=True)
            with self._lock:
                self._meanwhile = None

    def _refresh(self) -> None:
        with self._lock:
            self._meanwhile = []
        started = self._clock()
        try:
            answer = self._read()
        except BaseException:
            with self._lock:
                self._meanwhile = None
            raise
        fresh: _Newest = {
            device: {v.sensor: v for v in values} for device, values in answer.items()
        }
        with self._lock:
            _apply(fresh, self._meanwhile or (), self._last_wins)
            self._newest, self._meanwhile, self._read_at = fresh, None, started
            self._sorted = {}


def _apply(newest: _Newest, readings: Iterable[Reading], last_wins: bool) -> None:
    for r in readings:
        by_sensor = newest.get(r.device)
        if by_sensor is None:
            by_sensor = newest[r.device] = {}
        have = by_sensor.get(r.sensor)
        if have is None or have.ts_ms < r.ts_ms or (last_wins and have.ts_ms == r.ts_ms):
            by_sensor[r.sensor] = LatestValue(r.sensor, r.ts_ms, float(r.value))


def _sensor(value: LatestValue) -> str:
    return value.sensor
