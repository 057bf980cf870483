"""Whose turn it is to report: stride scheduling over devices of different report rates."""

from __future__ import annotations

import heapq
import math
from collections.abc import Sequence

from village_brain.core.catalog import Catalog

_HOUR_MS = 3_600_000


def report_weight(catalog: Catalog, sensors: Sequence[str]) -> float:
    """How often a device reports relative to an hourly one.

    The square root tempers the real ratios (a 5-minute gauge against an hourly manhole
    sensor would be 12 to 1) so that every device shows up in a demo within a minute or two.
    """
    intervals = [catalog.types[s].interval_ms for s in sensors if s in catalog.types]
    fastest = min(intervals, default=_HOUR_MS)
    return math.sqrt(_HOUR_MS / fastest)


class StrideSchedule:
    """Picks devices in proportion to their weights, evenly spaced, deterministically."""

    def __init__(self, weights: Sequence[float]) -> None:
        if not weights or min(weights) <= 0:
            raise ValueError("every device needs a weight above zero")
        self._strides = [1.0 / w for w in weights]
        # Starting each at half a stride spreads the first round instead of bunching it.
        self._queue = [(stride / 2, index) for index, stride in enumerate(self._strides)]
        heapq.heapify(self._queue)

    def next(self) -> int:
        due, index = heapq.heappop(self._queue)
        heapq.heappush(self._queue, (due + self._strides[index], index))
        return index
