"""The embedded series store as it was before the staging table, kept as the reference
the staged layout must answer exactly like (and as the maker of old data directories)."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from operator import itemgetter
from pathlib import Path

import msgspec

from village_brain.core.records import Reading
from village_brain.store.base import Bucket, LatestValue
from village_brain.store.sqlite_db import Database

# Points are keyed by (series, ts) in a WITHOUT ROWID table: the key is the dedupe rule
# and the clustered index that makes "latest" and range scans cheap.
SCHEMA = """
CREATE TABLE IF NOT EXISTS series (
    id INTEGER PRIMARY KEY,
    device TEXT NOT NULL,
    sensor TEXT NOT NULL,
    village TEXT NOT NULL,
    UNIQUE (device, sensor)
);
CREATE TABLE IF NOT EXISTS points (
    series_id INTEGER NOT NULL REFERENCES series(id),
    ts INTEGER NOT NULL,
    value REAL NOT NULL,
    PRIMARY KEY (series_id, ts)
) WITHOUT ROWID;
"""


_key = itemgetter(0, 1)


class OldSqliteSeriesStore:
    def __init__(self, path: Path, synchronous: str = "full") -> None:
        self.db = Database(path, SCHEMA, synchronous)
        self._series_ids: dict[tuple[str, str], int] = {
            (device, sensor): sid
            for sid, device, sensor in self.db.reader().execute(
                "SELECT id, device, sensor FROM series"
            )
        }

    def write(self, readings: Sequence[Reading]) -> int:
        if not readings:
            return 0
        created: dict[tuple[str, str], int] = {}
        with self.db.transaction() as conn:
            rows = [(self._series_id(conn, r, created), r.ts_ms, r.value) for r in readings]
            # In key order the B-tree inserts touch each page once: about a third cheaper. The
            # sort is stable, so of two points with one key the first to arrive still wins.
            rows.sort(key=_key)
            before = conn.total_changes
            # One statement for the whole batch: executemany would release and retake the GIL
            # for every row, and each retake can wait a full switch interval behind the MQTT
            # network thread, which made inserts several times slower under load.
            conn.execute(
                "INSERT OR IGNORE INTO points SELECT json_extract(value, '$[0]'), "
                "json_extract(value, '$[1]'), json_extract(value, '$[2]') "
                "FROM json_each(?)",
                (msgspec.json.encode(rows),),
            )
            added = conn.total_changes - before
        # Only remember new series ids once their rows are committed.
        self._series_ids.update(created)
        return added

    def _series_id(
        self, conn: sqlite3.Connection, reading: Reading, created: dict[tuple[str, str], int]
    ) -> int:
        key = (reading.device, reading.sensor)
        sid = self._series_ids.get(key) or created.get(key)
        if sid is None:
            cur = conn.execute(
                "INSERT INTO series (device, sensor, village) VALUES (?, ?, ?) "
                "ON CONFLICT (device, sensor) DO UPDATE SET village = excluded.village "
                "RETURNING id",
                (reading.device, reading.sensor, reading.village),
            )
            sid = created[key] = cur.fetchone()[0]
        return sid

    def latest(self, device: str) -> list[LatestValue]:
        rows = self.db.reader().execute(
            "SELECT s.sensor, p.ts, p.value FROM series s "
            "JOIN points p ON p.series_id = s.id AND p.ts = "
            "(SELECT max(ts) FROM points WHERE series_id = s.id) "
            "WHERE s.device = ? ORDER BY s.sensor",
            (device,),
        )
        return [LatestValue(sensor, ts, value) for sensor, ts, value in rows]

    def series(
        self, device: str, sensor: str, start_ms: int, end_ms: int, step_ms: int
    ) -> list[Bucket]:
        # Group by bucket, then fetch each bucket's last value through its max(ts):
        # a join on the primary key, so no second scan of the range.
        rows = self.db.reader().execute(
            """
            WITH sid AS (SELECT id FROM series WHERE device = :device AND sensor = :sensor),
            agg AS (
                SELECT (ts / :step) * :step AS bucket, min(value) AS lo, max(value) AS hi,
                       avg(value) AS mean, count(*) AS n, max(ts) AS last_ts
                FROM points WHERE series_id = (SELECT id FROM sid) AND ts >= :start AND ts < :end
                GROUP BY ts / :step
            )
            SELECT agg.bucket, agg.lo, agg.hi, agg.mean, agg.n, p.value
            FROM agg JOIN points p ON p.series_id = (SELECT id FROM sid) AND p.ts = agg.last_ts
            ORDER BY agg.bucket
            """,
            {"device": device, "sensor": sensor, "step": step_ms, "start": start_ms, "end": end_ms},
        )
        return [Bucket(*row) for row in rows]

    def delete_before(self, cutoff_ms: int) -> int:
        # One range delete per series rides the primary key; an index on time alone would
        # make every insert slower to speed up this hourly chore.
        with self.db.transaction() as conn:
            series_ids = [sid for (sid,) in conn.execute("SELECT id FROM series")]
            return sum(
                conn.execute(
                    "DELETE FROM points WHERE series_id = ? AND ts < ?", (sid, cutoff_ms)
                ).rowcount
                for sid in series_ids
            )

    def close(self) -> None:
        self.db.close()
