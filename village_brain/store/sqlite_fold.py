"""Moving staged points into the clustered history: in chunks, each one transaction.

A chunk's insert into the history and delete from the staging table commit together, so a
crash at any moment leaves every point in exactly one of the two tables. Chunks keep each
transaction short, because the ingest writer waits for the write lock meanwhile: a chunk of
100,000 points held it for 0.3-0.45 s, which put a fold into the tail of ingest latency.

A chunk is a slice of the series with every point they had staged when the pass began, not
a slice of time: each series' last history page is then rewritten once a pass rather than
once a chunk. Cut by time, with 10 million points stored, the fold cost 5.4 µs a point and
held the lock 250 ms a chunk (1,000 devices); cut by series, 3.0 µs and 20 ms a chunk of
4,000 points.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from village_brain.store.sqlite_db import Database

log = logging.getLogger(__name__)

# About 3 µs of write lock a point: a chunk of this size holds it for about 10-20 ms, and
# several times that on a machine whose cores are all busy. Smaller chunks cost a fold
# little more (100,000 points: 0.32 s in chunks of 4,000, 0.30 s in chunks of 10,000), as
# each series' history page is still rewritten once a pass; but with 1,000 devices, 10
# million points stored and 5,000 messages a second, a wait behind a chunk of 32,000 points
# made a p99 of ingest latency of 425 ms, behind 10,000 of 220 ms.
CHUNK_ROWS = 4_000
# Between chunks the fold waits as long as the chunk took, and at least this long: the
# writer gets the lock at least half the time, for as many batches as fit.
CHUNK_PAUSE_S = 0.005
_NO_SERIES = 2**63 - 1  # above every series id

# The first series of the next chunk: the one holding the point chunk_rows further on.
_NEXT = (
    "SELECT series_id FROM points_recent WHERE series_id >= ? ORDER BY series_id LIMIT 1 OFFSET ?"
)
_SLICE = "series_id >= :lo AND series_id < :hi AND ts <= :bound"
# Read off the series index, the chunk comes in the history's key order: the inserts touch
# each of its leaf pages once.
_MOVE = (
    "INSERT OR IGNORE INTO points_history (series_id, ts, value) "
    f"SELECT series_id, ts, value FROM points_recent WHERE {_SLICE} ORDER BY series_id, ts"
)
# A point newer than its series' newest folded one becomes the newest. Each series' newest
# time comes from the series index alone, its value by the primary key.
_NEWEST = (
    "INSERT INTO series_latest (series_id, ts, value) "
    "SELECT n.series_id, n.ts, r.value FROM ("
    f"SELECT series_id, max(ts) AS ts FROM points_recent WHERE {_SLICE} GROUP BY series_id"
    ") n JOIN points_recent r ON r.ts = n.ts AND r.series_id = n.series_id "
    "WHERE true "  # an upsert after a join needs a WHERE to parse
    "ON CONFLICT (series_id) DO UPDATE SET ts = excluded.ts, value = excluded.value "
    "WHERE excluded.ts > series_latest.ts RETURNING series_id, ts"
)
_DROP = f"DELETE FROM points_recent WHERE {_SLICE}"


def fold_chunk(
    db: Database, newest: dict[int, int], lo: int, bound: int, chunk_rows: int = CHUNK_ROWS
) -> tuple[int, int | None]:
    """Fold the points up to `bound` of the series from `lo` on that hold about chunk_rows
    staged points (a series holding more is a chunk alone). Returns how many moved and the
    series the next chunk starts at, None after the last one.

    `newest` maps a series to its newest point in the history; it is brought up to date
    before the chunk commits, while the fold holds the write lock, so a write never sees
    the history newer than `newest` says."""
    with db.transaction() as conn:
        row = conn.execute(_NEXT, (lo, chunk_rows)).fetchone()
        hi = _NO_SERIES if row is None else max(row[0], lo + 1)
        chunk = {"lo": lo, "hi": hi, "bound": bound}
        conn.execute(_MOVE, chunk)
        newest.update(conn.execute(_NEWEST, chunk).fetchall())
        moved = conn.execute(_DROP, chunk).rowcount
    return moved, None if row is None else hi


def fold_all(
    db: Database,
    newest: dict[int, int],
    chunk_rows: int = CHUNK_ROWS,
    stop: threading.Event | None = None,
    pause: bool = True,
) -> int:
    """Fold every staged point, chunk by chunk, pass after pass while points keep coming;
    once `stop` is set, only the chunk in hand. Without `pause` (nobody else writes: the
    store is closing) chunks follow at once."""
    stop = stop or threading.Event()
    total = 0
    while (start := _pass_start(db)) is not None:
        lo, bound = start
        while lo is not None:
            began = time.monotonic()
            moved, lo = fold_chunk(db, newest, lo, bound, chunk_rows)
            total += moved
            # Without a pause the lock just released was taken again by this thread before
            # the waiting writer ran, and the writer got one batch in between chunks: at
            # 5,000 messages a second it fell behind for the whole fold.
            if pause and stop.wait(max(CHUNK_PAUSE_S, time.monotonic() - began)):
                return total
    return total


def _pass_start(db: Database) -> tuple[int, int] | None:
    """The first staged series and the newest staged time; None with nothing staged."""
    reader = db.reader()
    bound = reader.execute("SELECT max(ts) FROM points_recent").fetchone()[0]
    first = reader.execute("SELECT min(series_id) FROM points_recent").fetchone()[0]
    return None if bound is None or first is None else (first, bound)


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
