"""The embedded store's staged layout: same answers as the clustered table alone, folds that
lose nothing, and data directories from before the staging table opening with every point."""

from __future__ import annotations

import random
import sqlite3
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from village_brain.core.records import Reading
from village_brain.store.base import Bucket, LatestValue
from village_brain.store.sqlite_fold import _DROP as DROP
from village_brain.store.sqlite_fold import _MOVE as MOVE
from village_brain.store.sqlite_fold import _NEWEST as NEWEST
from village_brain.store.sqlite_series import _SERIES as SERIES_QUERY
from village_brain.store.sqlite_series import SqliteSeriesStore

from support.old_series_layout import OldSqliteSeriesStore
from support.waiting import wait_until

T0 = 1_700_000_000_000 // 3_600_000 * 3_600_000
MINUTE = 60_000
DEVICES = ("a", "b", "c")
SENSORS = ("water_level", "rssi")
# Sums of quarters are exact, so a mean cannot differ by the order points are added in.
STEPS = (1, 1000, MINUTE, 7 * MINUTE, 3_600_000)

# The store's shape before the staging table, as a data directory of that release holds it.
OLD_SCHEMA = """
CREATE TABLE series (
    id INTEGER PRIMARY KEY, device TEXT NOT NULL, sensor TEXT NOT NULL,
    village TEXT NOT NULL, UNIQUE (device, sensor)
);
CREATE TABLE points (
    series_id INTEGER NOT NULL REFERENCES series(id), ts INTEGER NOT NULL,
    value REAL NOT NULL, PRIMARY KEY (series_id, ts)
) WITHOUT ROWID;
"""


def batches(seed: int) -> list[list[Reading]]:
    """Readings in batches as an ingest sees them: mostly in time order, some late, some
    redelivered with another value (the first must win)."""
    rng = random.Random(seed)
    sent: list[Reading] = []
    out = []
    for b in range(40):
        batch = []
        for _ in range(rng.randint(1, 30)):
            if sent and rng.random() < 0.1:
                again = rng.choice(sent)
                batch.append(Reading(again.village, again.device, again.sensor, again.ts_ms, 99.0))
                continue
            late = rng.random() < 0.15
            ts = T0 + (rng.randint(0, b) if late else b) * 30_000 + rng.randint(0, 29_999)
            batch.append(
                Reading(
                    "xiashan",
                    rng.choice(DEVICES),
                    rng.choice(SENSORS),
                    ts,
                    rng.randint(-400, 400) / 4,
                )
            )
        sent.extend(batch)
        out.append(batch)
    return out


def answers(store: SqliteSeriesStore | OldSqliteSeriesStore) -> dict[str, object]:
    found: dict[str, object] = {}
    for device in DEVICES:
        found[f"latest {device}"] = store.latest(device)
        for sensor in SENSORS:
            for step in STEPS:
                for start, end in ((T0, T0 + 3_600_000), (T0 + 123_457, T0 + 987_653)):
                    key = f"{device} {sensor} {step} {start - T0}"
                    found[key] = store.series(device, sensor, start, end, step)
    return found


@pytest.mark.parametrize("seed", range(4))
def test_reads_answer_as_the_clustered_table_did_whether_points_are_staged_folded_or_both(
    tmp_path, seed
):
    direct = OldSqliteSeriesStore(tmp_path / "direct.sqlite3")
    staged = SqliteSeriesStore(tmp_path / "staged.sqlite3", fold_every_s=3600)
    rng = random.Random(seed)
    for batch in batches(seed):
        if rng.random() < 0.2:
            staged.fold()
        assert staged.write(batch) == direct.write(batch)
        assert answers(staged) == answers(direct)
        assert staged.latest_by_device() == {d: direct.latest(d) for d in DEVICES}
    assert staged.staged_points() > 0
    staged.fold()
    assert answers(staged) == answers(direct)
    direct.close()
    staged.close()


def test_a_point_redelivered_after_its_fold_is_ignored_and_the_first_value_stays(tmp_path):
    store = SqliteSeriesStore(tmp_path / "series.sqlite3", fold_every_s=3600)
    store.write([Reading("v", "g1", "water_level", T0, 1.0)])
    assert store.fold() == 1
    assert store.write([Reading("v", "g1", "water_level", T0, 9.0)]) == 0
    assert store.latest("g1") == [LatestValue("water_level", T0, 1.0)]
    assert store.staged_points() == 0
    store.close()


def test_a_point_redelivered_after_a_restart_is_found_in_the_history_it_was_folded_into(
    tmp_path,
):
    store = SqliteSeriesStore(tmp_path / "series.sqlite3", fold_every_s=3600)
    store.write([Reading("v", "g1", "water_level", T0 + i, 1.0) for i in range(3)])
    store.close()  # folds
    again = SqliteSeriesStore(tmp_path / "series.sqlite3", fold_every_s=3600)
    assert again.write([Reading("v", "g1", "water_level", T0 + 2, 9.0)]) == 0
    assert again.latest("g1") == [LatestValue("water_level", T0 + 2, 1.0)]
    again.close()


def test_a_batch_of_new_and_redelivered_points_stores_only_the_new_ones(tmp_path):
    store = SqliteSeriesStore(tmp_path / "series.sqlite3", fold_every_s=3600)
    store.write([Reading("v", "g1", "water_level", T0, 1.0), Reading("v", "g2", "rssi", T0, 2.0)])
    store.fold()
    batch = [
        Reading("v", "g1", "water_level", T0 + 1, 3.0),
        Reading("v", "g1", "water_level", T0, 9.0),  # folded already
        Reading("v", "g2", "rssi", T0 - 1, 4.0),  # late, older than the history's newest
        Reading("v", "g3", "rssi", T0, 5.0),  # a new series
    ]
    assert store.write(batch) == 3
    assert store.series("g1", "water_level", T0, T0 + 2, 1) == [
        Bucket(T0, 1.0, 1.0, 1.0, 1, 1.0),
        Bucket(T0 + 1, 3.0, 3.0, 3.0, 1, 3.0),
    ]
    assert [b.last for b in store.series("g2", "rssi", T0 - 1, T0 + 1, 1)] == [4.0, 2.0]
    store.close()


def test_staged_points_are_folded_in_the_background(tmp_path):
    store = SqliteSeriesStore(tmp_path / "series.sqlite3", fold_every_s=0.05)
    store.write([Reading("v", "g1", "water_level", T0 + i, i / 4) for i in range(100)])
    wait_until(lambda: store.staged_points() == 0, what="the background fold")
    assert store.series("g1", "water_level", T0, T0 + 100, 100)[0].count == 100
    store.close()


def test_a_fold_that_fails_midway_leaves_every_point_staged_once(tmp_path):
    store = SqliteSeriesStore(tmp_path / "series.sqlite3", fold_every_s=3600)
    store.write([Reading("v", "g1", "water_level", T0 + i, 1.0) for i in range(50)])
    # The history has taken the points when the delete from the staging table fails.
    store.db._writer.execute(
        "CREATE TEMP TRIGGER fail_fold BEFORE DELETE ON points_recent "
        "BEGIN SELECT RAISE(ABORT, 'disk went away'); END"
    )
    with pytest.raises(sqlite3.DatabaseError, match="disk went away"):
        store.fold()
    store.db._writer.execute("DROP TRIGGER fail_fold")
    assert store.staged_points() == 50
    assert store.series("g1", "water_level", T0, T0 + 50, 50)[0].count == 50
    assert store.fold() == 50
    assert store.series("g1", "water_level", T0, T0 + 50, 50)[0].count == 50
    store.close()


def test_a_write_during_a_fold_waits_for_one_chunk_not_the_whole_fold(tmp_path):
    store = SqliteSeriesStore(tmp_path / "series.sqlite3", fold_every_s=3600)
    store.write([Reading("v", f"d{i % 100}", "rssi", T0 + i, -60.0) for i in range(20_000)])
    folding = threading.Thread(target=store.fold, kwargs={"chunk_rows": 500})  # 40 chunks
    folding.start()
    reader = store.db.reader()
    wait_until(
        lambda: reader.execute("SELECT count(*) FROM points_history").fetchone()[0] > 0,
        what="the first chunk",
    )
    with store.db.transaction() as conn:  # what a write sees once it has the lock
        folded = conn.execute("SELECT count(*) FROM points_history").fetchone()[0]
    folding.join()
    assert folded < 20_000
    store.close()


# Writes batches, saying which ones are acknowledged, and folds big chunks between them.
_FOLDING_WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from village_brain.core.records import Reading
    from village_brain.store.sqlite_series import SqliteSeriesStore

    store = SqliteSeriesStore(Path(sys.argv[1]), fold_every_s=3600)
    t0 = int(sys.argv[2])
    for b in range(10_000):
        batch = [Reading("v", f"d{i}", "water_level", t0 + b * 1000, i) for i in range(2000)]
        store.write(batch)
        print("acked", b, flush=True)
        if b % 5 == 4:
            print("folding", b, flush=True)
            store.fold()
    """
)


def test_killing_the_process_during_a_fold_loses_no_acknowledged_point(tmp_path):
    path = tmp_path / "series.sqlite3"
    child = subprocess.Popen(
        [sys.executable, "-c", _FOLDING_WRITER, str(path), str(T0)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    acked = -1
    folds = 0
    for line in child.stdout:
        word, number = line.split()
        if word == "acked":
            acked = int(number)
        elif (folds := folds + 1) == 3:
            child.kill()
            break
    child.wait(timeout=30)
    store = SqliteSeriesStore(path, fold_every_s=3600)
    counts = (
        store.db.reader()
        .execute("SELECT count(*), count(DISTINCT series_id || ':' || ts) FROM points")
        .fetchone()
    )
    assert acked == 14
    assert counts[0] == counts[1], "a point is in both tables"
    # Every acknowledged batch is there whole; the one in flight may be too, and nothing more.
    assert counts[0] in (15 * 2000, 16 * 2000)
    for device in ("d0", "d1999"):
        buckets = store.series(device, "water_level", T0, T0 + 15_000, 1000)
        assert [b.start_ms for b in buckets] == [T0 + b * 1000 for b in range(15)]
    store.close()


def old_data_directory(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.executescript(OLD_SCHEMA)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.executemany(
        "INSERT INTO series (id, device, sensor, village) VALUES (?, ?, ?, 'v')",
        [(1, "g1", "water_level"), (2, "g1", "rssi"), (3, "g2", "water_level")],
    )
    conn.executemany(
        "INSERT INTO points VALUES (?, ?, ?)",
        [(sid, T0 + i * 1000, sid + i / 4) for sid in (1, 2, 3) for i in range(100)],
    )
    conn.commit()
    conn.close()


def test_a_data_directory_from_before_the_staging_table_keeps_every_point(tmp_path):
    path = tmp_path / "series.sqlite3"
    old_data_directory(path)
    store = SqliteSeriesStore(path, fold_every_s=3600)
    assert store.latest("g1") == [
        LatestValue("rssi", T0 + 99_000, 2 + 99 / 4),
        LatestValue("water_level", T0 + 99_000, 1 + 99 / 4),
    ]
    assert store.series("g2", "water_level", T0, T0 + 100_000, 50_000) == [
        Bucket(T0, 3.0, 3 + 49 / 4, 3 + 49 / 8, 50, 3 + 49 / 4),
        Bucket(T0 + 50_000, 3 + 50 / 4, 3 + 99 / 4, 3 + 149 / 8, 50, 3 + 99 / 4),
    ]
    # Old points stay the first of their key, and new ones join them.
    assert store.write([Reading("v", "g2", "water_level", T0, 7.0)]) == 0
    assert store.write([Reading("v", "g2", "water_level", T0 + 100_000, 7.0)]) == 1
    store.close()
    again = SqliteSeriesStore(path, fold_every_s=3600)
    assert again.db.reader().execute("SELECT count(*) FROM points").fetchone()[0] == 301
    again.close()


def test_one_series_staged_points_are_found_without_a_pass_over_all_staged_points(tmp_path):
    # A rate rule rebuilds each device's window after a start; a pass over every staged point
    # per device made that cost grow with the fleet.
    store = SqliteSeriesStore(tmp_path / "series.sqlite3")
    store.write([Reading("v", f"d{i}", "rssi", 1_000 + i, -60.0) for i in range(50)])
    store.close()
    conn = sqlite3.connect(tmp_path / "series.sqlite3")
    window = {"device": "d7", "sensor": "rssi", "start": 0, "end": 10_000, "step": 1_000}
    plan = conn.execute(f"EXPLAIN QUERY PLAN {SERIES_QUERY}", window).fetchall()
    conn.close()
    assert any("points_recent_series" in row[-1] for row in plan), plan


def test_a_fold_chunk_reads_its_series_staged_points_off_the_series_index_in_key_order(
    tmp_path,
):
    # A pass over every staged point for each chunk, or a sort of the chunk, cost a fold as
    # much as its writes.
    store = SqliteSeriesStore(tmp_path / "series.sqlite3")
    store.close()
    conn = sqlite3.connect(tmp_path / "series.sqlite3")
    chunk = {"lo": 0, "hi": 10, "bound": 0}
    plans = [
        " ".join(row[-1] for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}", chunk))
        for sql in (MOVE, NEWEST, DROP)
    ]
    conn.close()
    by_series = "INDEX points_recent_series (series_id>? AND series_id<?)"
    assert all(by_series in plan for plan in plans), plans
    assert "TEMP B-TREE" not in plans[0], plans[0]


def test_a_fold_asked_to_stop_commits_the_chunk_in_hand_and_leaves_the_rest_staged(tmp_path):
    # A store closing stops its background fold so; the fold it makes itself does the rest.
    store = SqliteSeriesStore(tmp_path / "series.sqlite3", fold_every_s=3600)
    store.write([Reading("v", f"d{i % 10}", "rssi", T0 + i, -60.0) for i in range(2_000)])
    stop = threading.Event()
    stop.set()
    assert store.fold(stop, chunk_rows=400) == 400  # two series
    assert store.staged_points() == 1_600
    store.close()
    again = SqliteSeriesStore(tmp_path / "series.sqlite3", fold_every_s=3600)
    assert again.staged_points() == 0
    assert sum(b.count for b in again.series("d3", "rssi", T0, T0 + 2_000, 2_000)) == 200
    again.close()


class CountedWaits(threading.Event):
    def __init__(self) -> None:
        super().__init__()
        self.waits = 0

    def wait(self, timeout: float | None = None) -> bool:
        self.waits += 1
        return super().wait(timeout)


def test_a_fold_leaves_the_writer_room_between_chunks_unless_told_nobody_writes(tmp_path):
    store = SqliteSeriesStore(tmp_path / "series.sqlite3", fold_every_s=3600)
    try:
        for start, pause, waits in ((T0, True, 5), (T0 + 2_000, False, 0)):  # 2 series a chunk
            store.write([Reading("v", f"d{i % 10}", "rssi", start + i, -6.0) for i in range(2000)])
            counted = CountedWaits()
            assert store.fold(counted, pause, chunk_rows=400) == 2_000
            assert counted.waits == waits
    finally:
        store.close()


def test_a_series_holding_more_than_a_chunk_is_a_chunk_alone(tmp_path):
    store = SqliteSeriesStore(tmp_path / "series.sqlite3", fold_every_s=3600)
    store.write([Reading("v", "busy", "rssi", T0 + i, -6.0) for i in range(1_000)])
    store.write([Reading("v", "quiet", "rssi", T0 + i, -6.0) for i in range(10)])
    stop = threading.Event()
    stop.set()
    assert store.fold(stop, chunk_rows=100) == 1_000
    assert store.staged_points() == 10
    store.close()


class WritesBetweenChunks(threading.Event):
    def __init__(self, store: SqliteSeriesStore) -> None:
        super().__init__()
        self.store = store
        self.written = False

    def wait(self, timeout: float | None = None) -> bool:
        if not self.written:
            self.written = True
            self.store.write([Reading("v", "d0", "rssi", T0 + 10_000, -1.0)])
        return False


def test_points_staged_during_a_fold_are_folded_by_it_too(tmp_path):
    store = SqliteSeriesStore(tmp_path / "series.sqlite3", fold_every_s=3600)
    try:
        store.write([Reading("v", f"d{i % 10}", "rssi", T0 + i, -6.0) for i in range(2000)])
        assert store.fold(WritesBetweenChunks(store), chunk_rows=400) == 2_001
        assert store.staged_points() == 0
        assert store.latest("d0") == [LatestValue("rssi", T0 + 10_000, -1.0)]
    finally:
        store.close()
