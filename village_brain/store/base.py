"""The interface every time-series backend implements, and the records its queries return.

The ingest writes through `SeriesStore.write`; the API and dashboards read through the
query methods. A backend must make `write` durable before it returns, because the ingest
acknowledges MQTT messages right after it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Collection, Mapping, Sequence
from typing import Protocol

import msgspec

from village_brain.core.records import Reading

# SQLite errors about the data being written rather than about the database.
_SQLITE_CONTENT_ERRORS = (
    sqlite3.IntegrityError,
    sqlite3.ProgrammingError,
    sqlite3.DataError,
    sqlite3.NotSupportedError,
)


class StoreUnavailable(Exception):
    """The store cannot take this write now; the same write can succeed later."""


def is_outage(exc: BaseException) -> bool:
    """Whether a failed write means the store is down, so the write must be retried.

    Anything else (a value the store cannot represent, text it cannot encode) says the data
    itself cannot be written, and retrying it would only hold up everything behind it.
    """
    if isinstance(exc, OSError | StoreUnavailable):
        return True
    return isinstance(exc, sqlite3.DatabaseError) and not isinstance(exc, _SQLITE_CONTENT_ERRORS)


class LatestValue(msgspec.Struct, frozen=True, gc=False):
    """Untracked by the cycle collector (it holds no containers): the store keeps one for
    every series, and a fleet's answer is tens of thousands of them."""

    sensor: str
    ts_ms: int
    value: float


class Bucket(msgspec.Struct, frozen=True):
    """Aggregate of one sensor's points in [start_ms, start_ms + step)."""

    start_ms: int
    min: float
    max: float
    mean: float
    count: int
    last: float


class SeriesStore(Protocol):
    def write(self, readings: Sequence[Reading]) -> int:
        """Store readings durably; return how many points were written, or how many were
        new where the backend can tell.

        A reading with the same device, sensor and timestamp as a stored one never creates a
        second point. Such a reading is a redelivered message and carries the same value, so
        which of the two values a backend keeps does not matter (SQLite keeps the first,
        InfluxDB the last).
        """
        ...

    def latest(self, device: str) -> list[LatestValue]:
        """The newest point of each of the device's sensors."""
        ...

    def latest_by_device(
        self, devices: Collection[str] | None = None
    ) -> dict[str, list[LatestValue]]:
        """`latest` of many devices (all when None) in one query, whatever the fleet's size.

        Devices with no point are absent from the answer.
        """
        ...

    def series(
        self, device: str, sensor: str, start_ms: int, end_ms: int, step_ms: int
    ) -> list[Bucket]:
        """Points in [start_ms, end_ms) grouped into buckets aligned to multiples of step_ms."""
        ...

    def window_lasts(
        self, sensor: str, windows: Mapping[str, tuple[int, int]], step_ms: int
    ) -> dict[str, list[tuple[int, float]]]:
        """For each device of `windows` (device -> [start_ms, end_ms)), the newest point of
        each of `series`' buckets over its window, as (its time, its value), for every
        device in one query.

        What a rate rule needs to rebuild the fleet's windows after a start or a takeover
        without a round trip per device. The point's own time, not its bucket's start: a
        reading that arrives late, from inside the bucket, must land on the right side of
        it. Devices with no point in their window are absent from the answer.
        """
        ...

    def delete_before(self, cutoff_ms: int) -> int:
        """Delete points older than cutoff_ms (retention); return how many went."""
        ...

    def close(self) -> None: ...
