"""Moving staged points into the clustered history: in chunks, each one transaction.

A chunk's insert into the history and delete from the staging table commit together, so a
crash at any moment leaves every point in exactly one of the two tables. Chunks keep each
transaction short, because the ingest writer waits for the write lock meanwhile: a chunk of
100,000 points held it for 0.3-0.45 s, which put a fold into the tail of ingest latency.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from village_brain.store.sqlite_db import Database

log = logging.getLogger(__name__)

# About 3-10 µs of write lock a point, the more the busier the writer: a chunk of this size
# holds it for 30-100 ms.
CHUNK_ROWS = 10_000
# Each chunk gives every series' history page a few points, or the fold rewrites a page
# for a point or two (a large fleet's chunk grows with it).
CHUNK_POINTS_PER_SERIES = 8
# Between chunks the fold waits as long as the chunk took, and at least this long: the
# writer gets the lock at least half the time, for as many batches as fit.
CHUNK_PAUSE_S = 0.005

# Sorted by the history's key, the inserts touch each leaf page once per chunk. The `+`
# keeps the planner from reading the chunk in that order off the series index, which meant
# a pass over every staged point for each chunk, however small.
_MOVE = (
    "INSERT OR IGNORE INTO points_history (series_id, ts, value) "
    "SELECT series_id, ts, value FROM points_recent WHERE ts {op} ? ORDER BY +series_id, ts"
)
# A point newer than its series' newest folded one becomes the newest. Each series' newest
# time comes from the series index alone, its value by the primary key: grouping the chunk's
# rows themselves sorted them all again, and took a third of the fold.
_NEWEST = (
    "INSERT INTO series_latest (series_id, ts, value) "
    "SELECT n.series_id, n.ts, r.value FROM ("
    "SELECT series_id, max(ts) AS ts FROM points_recent WHERE ts {op} ? GROUP BY series_id"
    ") n JOIN points_recent r ON r.ts = n.ts AND r.series_id = n.series_id "
    "WHERE true "  # an upsert after a join needs a WHERE to parse
    "ON CONFLICT (series_id) DO UPDATE SET ts = excluded.ts, value = excluded.value "
    "WHERE excluded.ts > series_latest.ts RETURNING series_id, ts"
)
_DROP = "DELETE FROM points_recent WHERE ts {op} ?"


def fold_chunk(db: Database, newest: dict[int, int], chunk_rows: int = CHUNK_ROWS) -> int:
    """Fold the oldest staged points, about chunk_rows of them; return how many moved.

    `newest` maps a series to its newest point in the history; it is brought up to date
    before the chunk commits, while the fold holds the write lock, so a write never sees
    the history newer than `newest` says."""
    with db.transaction() as conn:
        first = conn.execute("SELECT min(ts) FROM points_recent").fetchone()[0]
        if first is None:
            return 0
        row = conn.execute(
            "SELECT ts FROM points_recent ORDER BY ts LIMIT 1 OFFSET ?", (chunk_rows,)
        ).fetchone()
        # Everything below the chunk's bound; all of it when the staging table is small, and
        # the first instant alone when that instant holds a whole chunk by itself.
        if row is None:
            op, bound = "<=", conn.execute("SELECT max(ts) FROM points_recent").fetchone()[0]
        elif row[0] == first:
            op, bound = "<=", first
        else:
            op, bound = "<", row[0]
        conn.execute(_MOVE.format(op=op), (bound,))
        newest.update(conn.execute(_NEWEST.format(op=op), (bound,)).fetchall())
        return conn.execute(_DROP.format(op=op), (bound,)).rowcount


def chunk_rows_for(series: int) -> int:
    return max(CHUNK_ROWS, CHUNK_POINTS_PER_SERIES * series)


def fold_all(
    db: Database,
    newest: dict[int, int],
    chunk_rows: int = CHUNK_ROWS,
    stop: threading.Event | None = None,
    pause: bool = True,
) -> int:
    """Fold every staged point, chunk by chunk; once `stop` is set, only the chunk in hand.
    Without `pause` (nobody else writes: the store is closing) chunks follow at once."""
    stop = stop or threading.Event()
    total = 0
    while True:
        began = time.monotonic()
        moved = fold_chunk(db, newest, chunk_rows)
        total += moved
        # Without a pause the lock just released was taken again by this thread before the
        # waiting writer ran, and the writer got one batch in between chunks: at 5,000
        # messages a second it fell behind for the whole fold.
        if not moved or (pause and stop.wait(max(CHUNK_PAUSE_S, time.monotonic() - began))):
            return total


class Folder:
    """A thread that folds every `every_s` seconds, or sooner when asked to."""

    def __init__(self, fold: Callable[[threading.Event], int], every_s: float) -> None:
        self._fold = fold
        self._every_s = every_s
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sqlite-fold", daemon=True)
        self._thread.start()

    def soon(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=60)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self._every_s)
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                self._fold(self._stop)  # a store closing folds the rest itself
            except Exception:
                # The points stay staged and readable; the next round tries again.
                log.exception("folding staged points into the history failed")
