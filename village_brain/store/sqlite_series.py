"""The embedded time-series backend: SQLite in WAL mode, one row per point.

New points are staged in time order and folded into the series-clustered history in the
background (see sqlite_layout for why). Every read is one statement over both tables, so it
sees one snapshot: a fold committing meanwhile can neither hide a point nor show it twice.
"""

from __future__ import annotations

import sqlite3
import sys
import threading
from collections.abc import Collection, Mapping, Sequence
from itertools import groupby
from operator import itemgetter
from pathlib import Path

import msgspec

from village_brain.core.records import Reading
from village_brain.store.base import Bucket, LatestValue
from village_brain.store.latest_index import LatestIndex
from village_brain.store.sqlite_db import Database
from village_brain.store.sqlite_fold import CHUNK_ROWS, Folder, fold_all
from village_brain.store.sqlite_layout import SERIES_SCHEMA, upgrade

FOLD_EVERY_S = 300.0
# A fold pays one history page per series it touches, so it waits for enough points per
# series to share that page; and for a few chunks at least, however small the fleet.
FOLD_POINTS_PER_SERIES = 16
FOLD_MIN_POINTS = 100_000
# The service is the only writer of its data directory (it holds the directory's lock), so
# the fleet's latest values kept beside the writes stay exact; the read again now and then
# only guards against a change made some other way.
LATEST_REFRESH_S = 300.0

_ROWS = "FROM json_each(:rows) j"
_SID, _TS, _VALUE = (f"json_extract(j.value, '$[{i}]')" for i in range(3))
_STAGE = (
    f"INSERT INTO points_recent (ts, series_id, value) SELECT {_TS}, {_SID}, {_VALUE} {_ROWS} "
    "{where} ON CONFLICT DO NOTHING"
)
# Points newer than their series' newest in the history cannot be in it: they skip looking.
_STAGE_NEW = _STAGE.format(where="WHERE true")  # an upsert after a join needs a WHERE
# A point already folded into the history is a redelivery: the first value stays. With a
# long history each look is a page of the series' own, seldom in the cache: it cost a write
# more than all the rest of it with 10 million points stored.
_STAGE_SEEN = _STAGE.format(
    where=f"WHERE NOT EXISTS (SELECT 1 FROM points_history h WHERE h.series_id = {_SID} "
    f"AND h.ts = {_TS})"
)
_NEVER = float("-inf")

# The newest point of each chosen series: the history's as the fold left it, the staging
# table's by one pass over it, then the newer of the two (a bare column beside max() comes
# from the row holding the max).
_LATEST = """
WITH chosen AS (SELECT id, device, sensor FROM series WHERE {where}),
newest AS (
    SELECT series_id, max(ts) AS ts, value FROM (
        SELECT l.series_id, l.ts, l.value FROM chosen c JOIN series_latest l ON l.series_id = c.id
        UNION ALL
        SELECT series_id, ts, value FROM points_recent
            WHERE series_id IN (SELECT id FROM chosen)
    ) GROUP BY series_id
)
SELECT c.device, c.sensor, n.ts, n.value FROM newest n JOIN chosen c ON c.id = n.series_id
ORDER BY c.device, c.sensor
"""

# The same for the whole fleet, without choosing series first: one pass over each table.
_LATEST_OF_ALL = """
WITH newest AS (
    SELECT series_id, max(ts) AS ts, value FROM (
        SELECT series_id, ts, value FROM series_latest
        UNION ALL
        SELECT series_id, ts, value FROM points_recent
    ) GROUP BY series_id
)
SELECT s.device, s.sensor, n.ts, n.value FROM newest n JOIN series s ON s.id = n.series_id
ORDER BY s.device, s.sensor
"""

# Group by bucket, then fetch each bucket's last value through its max(ts): a key seek in
# whichever table holds that point, so no second scan of the range.
_SERIES = """
WITH sid AS (SELECT id FROM series WHERE device = :device AND sensor = :sensor),
pts AS (
    SELECT ts, value FROM points_history
        WHERE series_id = (SELECT id FROM sid) AND ts >= :start AND ts < :end
    UNION ALL
    SELECT ts, value FROM points_recent
        WHERE ts >= :start AND ts < :end AND series_id = (SELECT id FROM sid)
),
agg AS (
    SELECT (ts / :step) * :step AS bucket, min(value) AS lo, max(value) AS hi,
           avg(value) AS mean, count(*) AS n, max(ts) AS last_ts
    FROM pts GROUP BY ts / :step
)
SELECT agg.bucket, agg.lo, agg.hi, agg.mean, agg.n, coalesce(
    (SELECT value FROM points_history WHERE series_id = (SELECT id FROM sid) AND ts = last_ts),
    (SELECT value FROM points_recent WHERE ts = last_ts AND series_id = (SELECT id FROM sid))
)
FROM agg ORDER BY agg.bucket
"""

# Many devices' windows of one sensor at once (a rate rule rebuilding the fleet's windows):
# each window's points from both tables, then each bucket's newest point. A bare column
# beside max() comes from the row holding the max, and a key is in only one of the tables.
_WINDOW_LASTS = """
WITH w AS (
    SELECT s.id AS sid, s.device AS device, json_extract(j.value, '$[1]') AS lo,
           json_extract(j.value, '$[2]') AS hi
    FROM json_each(:windows) j JOIN series s
        ON s.device = json_extract(j.value, '$[0]') AND s.sensor = :sensor
),
pts AS (
    SELECT w.device, h.ts, h.value FROM w JOIN points_history h
        ON h.series_id = w.sid AND h.ts >= w.lo AND h.ts < w.hi
    UNION ALL
    SELECT w.device, r.ts, r.value FROM w JOIN points_recent r
        ON r.series_id = w.sid AND r.ts >= w.lo AND r.ts < w.hi
)
SELECT device, (ts / :step) * :step AS bucket, max(ts), value FROM pts
GROUP BY device, ts / :step ORDER BY device, bucket
"""

_key = itemgetter(1, 0)


class SqliteSeriesStore:
    """Points of every series in one SQLite file."""

    def __init__(
        self,
        path: Path,
        synchronous: str = "full",
        *,
        fold_every_s: float = FOLD_EVERY_S,
    ) -> None:
        self.db = Database(path, SERIES_SCHEMA, synchronous)
        with self.db.transaction() as conn:
            # A fold sorts a chunk of staged points; spilling that sort to a temporary file
            # wrote half again as many bytes as the fold itself.
            conn.execute("PRAGMA temp_store=MEMORY")
            upgrade(conn)
        # Names shared, not a copy per row: a device's name comes once for each of its
        # sensors, a sensor's once for each device, and the map lives as long as the store.
        self._series_ids: dict[tuple[str, str], int] = {
            (sys.intern(device), sys.intern(sensor)): sid
            for sid, device, sensor in self.db.reader().execute(
                "SELECT id, device, sensor FROM series"
            )
        }
        # Kept by the fold under the write lock (see fold_chunk); read by writes under it.
        self._history_newest: dict[int, int] = dict(
            self.db.reader().execute("SELECT series_id, ts FROM series_latest")
        )
        self._since_fold = self.staged_points()
        self._folder = Folder(self.fold, fold_every_s)
        self._latest = LatestIndex(
            self._latest_of_all, refresh_s=LATEST_REFRESH_S, last_write_wins=False
        )

    def write(self, readings: Sequence[Reading]) -> int:
        if not readings:
            return 0
        created: dict[tuple[str, str], int] = {}
        with self.db.transaction() as conn:
            rows = [(self._series_id(conn, r, created), r.ts_ms, r.value) for r in readings]
            # In the staging table's key order the inserts touch each page once. The sort is
            # stable, so of two points with one key the first to arrive still wins.
            rows.sort(key=_key)
            before = conn.total_changes
            # One statement for each kind of row: executemany would release and retake the
            # GIL for every row, and each retake can wait a full switch interval behind the
            # MQTT network thread, which made inserts several times slower under load.
            new, seen = self._split(rows)
            for statement, chosen in ((_STAGE_NEW, new), (_STAGE_SEEN, seen)):
                if chosen:
                    conn.execute(statement, {"rows": msgspec.json.encode(chosen)})
            added = conn.total_changes - before
        # Only remember new series ids once their rows are committed.
        self._series_ids.update(created)
        self._latest.written(readings)
        self._since_fold += added
        if self._since_fold >= self.fold_threshold():
            self._folder.soon()
        return added

    def _split(self, rows: list[tuple[int, int, float]]) -> tuple[list, list]:
        """Rows newer than all of their series' history, and the rest (in order, each)."""
        newest = self._history_newest
        new: list[tuple[int, int, float]] = []
        seen: list[tuple[int, int, float]] = []
        for row in rows:
            (new if row[1] > newest.get(row[0], _NEVER) else seen).append(row)
        return new, seen

    def fold_threshold(self) -> int:
        return max(FOLD_MIN_POINTS, FOLD_POINTS_PER_SERIES * len(self._series_ids))

    def fold(
        self,
        stop: threading.Event | None = None,
        pause: bool = True,
        chunk_rows: int = CHUNK_ROWS,
    ) -> int:
        """Move every staged point into the history now (or, once `stop` is set, the chunk
        in hand); return how many moved. `pause` leaves the writer the lock between chunks."""
        self._since_fold = 0
        return fold_all(self.db, self._history_newest, chunk_rows, stop, pause)

    def staged_points(self) -> int:
        return self.db.reader().execute("SELECT count(*) FROM points_recent").fetchone()[0]

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
            _LATEST.format(where="device = :device"), {"device": device}
        )
        return [LatestValue(sensor, ts, value) for _, sensor, ts, value in rows]

    def latest_by_device(
        self, devices: Collection[str] | None = None
    ) -> dict[str, list[LatestValue]]:
        found = self._latest.fleet()
        if devices is None:
            return found
        return {device: found[device] for device in devices if device in found}

    def _latest_of_all(self) -> dict[str, list[LatestValue]]:
        rows = self.db.reader().execute(_LATEST_OF_ALL)
        found: dict[str, list[LatestValue]] = {}
        for device, group in groupby(rows, key=itemgetter(0)):
            # Kept by the latest index for the whole fleet: one copy of each sensor name.
            found[device] = [
                LatestValue(sys.intern(sensor), ts, value) for _, sensor, ts, value in group
            ]
        return found

    def series(
        self, device: str, sensor: str, start_ms: int, end_ms: int, step_ms: int
    ) -> list[Bucket]:
        rows = self.db.reader().execute(
            _SERIES,
            {"device": device, "sensor": sensor, "step": step_ms, "start": start_ms, "end": end_ms},
        )
        return [Bucket(*row) for row in rows]

    def window_lasts(
        self, sensor: str, windows: Mapping[str, tuple[int, int]], step_ms: int
    ) -> dict[str, list[tuple[int, float]]]:
        if not windows:
            return {}
        rows = self.db.reader().execute(
            _WINDOW_LASTS,
            {
                "sensor": sensor,
                "step": step_ms,
                "windows": msgspec.json.encode([(d, lo, hi) for d, (lo, hi) in windows.items()]),
            },
        )
        found: dict[str, list[tuple[int, float]]] = {}
        for device, group in groupby(rows, key=itemgetter(0)):
            found[device] = [(ts, value) for _, _bucket, ts, value in group]
        return found

    def delete_before(self, cutoff_ms: int) -> int:
        # One range delete per series rides the history's key; an index on time alone would
        # make every insert slower to speed up this hourly chore. The staging table is
        # ordered by time already.
        with self.db.transaction() as conn:
            series_ids = [sid for (sid,) in conn.execute("SELECT id FROM series")]
            history = sum(
                conn.execute(
                    "DELETE FROM points_history WHERE series_id = ? AND ts < ?", (sid, cutoff_ms)
                ).rowcount
                for sid in series_ids
            )
            recent = conn.execute("DELETE FROM points_recent WHERE ts < ?", (cutoff_ms,))
            # A series whose newest point went has no point left in the history.
            conn.execute("DELETE FROM series_latest WHERE ts < ?", (cutoff_ms,))
            deleted = history + recent.rowcount
        self._latest.forget_before(cutoff_ms)
        return deleted

    def close(self) -> None:
        self._folder.stop()
        # Leave nothing staged, so the next start reads from the history alone; the writer
        # has stopped, so the chunks need not leave it room.
        self.fold(pause=False)
        self.db.close()
