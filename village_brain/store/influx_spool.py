"""The on-disk spool: readings InfluxDB could not take yet, kept in order until it can.

It is a SQLite file synced at every commit, so a reading is on disk before `write`
returns and the ingest acknowledges it. It is bounded: when full, `append` refuses the
whole batch, the caller does not acknowledge, and the broker keeps the messages.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from pathlib import Path

from village_brain.core.records import Reading
from village_brain.store.base import StoreUnavailable
from village_brain.store.sqlite_db import Database

log = logging.getLogger(__name__)

# AUTOINCREMENT so sequence numbers never go back, even after the spool empties:
# they are the order points are sent in.
SCHEMA = """
CREATE TABLE IF NOT EXISTS spool (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    village TEXT NOT NULL,
    device TEXT NOT NULL,
    sensor TEXT NOT NULL,
    ts INTEGER NOT NULL,
    value REAL NOT NULL
);
"""

WARN_AT_PERCENT = (50, 80, 95)


class SpoolFull(StoreUnavailable):
    """The spool has no room for the batch; nothing of it was kept."""


class Spool:
    def __init__(self, path: Path, max_points: int) -> None:
        self.db = Database(path, SCHEMA, "full")
        self.max_points = max_points
        self._lock = threading.Lock()
        (self._count,) = self.db.reader().execute("SELECT count(*) FROM spool").fetchone()
        self._warned = self._level()

    def __len__(self) -> int:
        return self._count

    def append(self, readings: Sequence[Reading]) -> None:
        with self._lock:
            if self._count + len(readings) > self.max_points:
                raise SpoolFull(
                    f"the InfluxDB spool holds {self._count} of {self.max_points} points and "
                    f"cannot take {len(readings)} more; the messages stay with the broker"
                )
            with self.db.transaction() as conn:
                conn.executemany(
                    "INSERT INTO spool (village, device, sensor, ts, value) VALUES (?, ?, ?, ?, ?)",
                    [(r.village, r.device, r.sensor, r.ts_ms, r.value) for r in readings],
                )
            self._count += len(readings)
            self._warn_if_fuller()

    def peek(self, limit: int) -> list[tuple[int, Reading]]:
        """The oldest points, oldest first, each with the number `remove` takes."""
        rows = self.db.reader().execute(
            "SELECT seq, village, device, sensor, ts, value FROM spool ORDER BY seq LIMIT ?",
            (limit,),
        )
        return [(seq, Reading(*fields)) for seq, *fields in rows]

    def remove(self, seqs: Sequence[int]) -> None:
        with self._lock:
            with self.db.transaction() as conn:
                gone = conn.executemany(
                    "DELETE FROM spool WHERE seq = ?", [(s,) for s in seqs]
                ).rowcount
            self._count -= gone
            self._warned = min(self._warned, self._level())

    def close(self) -> None:
        self.db.close()

    def _level(self) -> int:
        percent = 100 * self._count / self.max_points
        return max((level for level in WARN_AT_PERCENT if percent >= level), default=0)

    def _warn_if_fuller(self) -> None:
        level = self._level()
        if level > self._warned:
            log.warning(
                "the InfluxDB spool is %d%% full (%d of %d points): InfluxDB has not taken "
                "writes for a while; when the spool is full, ingest stops acknowledging",
                level,
                self._count,
                self.max_points,
            )
        self._warned = max(level, self._warned)
