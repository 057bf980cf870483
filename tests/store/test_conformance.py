"""The SeriesStore contract, run against every backend so they cannot drift apart.

InfluxDB here is a real 1.x server, written to through the v1 /write option and read
through InfluxQL; VictoriaMetrics a real single node, written to the same way and read
through its Prometheus export and query API.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest

from village_brain.core.records import Reading
from village_brain.store.base import Bucket, LatestValue, SeriesStore
from village_brain.store.sqlite_series import SqliteSeriesStore

MINUTE = 60_000
# A whole hour in 2023: realistic times, and every bucket step below divides it.
T0 = 1_700_000_000_000 // 3_600_000 * 3_600_000


class FoldingSqliteStore(SqliteSeriesStore):
    """Folds every write into the history at once, so reads come from the history alone."""

    def write(self, readings: Sequence[Reading]) -> int:
        added = super().write(readings)
        self.fold()
        return added


class FlushedVictoria:
    """A VictoriaMetrics store whose reads first make every written point searchable.

    VictoriaMetrics takes about a second to make a new point searchable (the service's own
    writes show at once through its latest index); flushing keeps read-after-write exact.
    """

    def __init__(self, store: SeriesStore, flush: Callable[[], None]) -> None:
        self._store = store
        self._flush = flush

    def write(self, readings: Sequence[Reading]) -> int:
        return self._store.write(readings)

    def __getattr__(self, name: str) -> object:
        self._flush()
        return getattr(self._store, name)


def _open(request: pytest.FixtureRequest, kind: str, tmp_path: Path) -> Iterator[SeriesStore]:
    if kind.startswith("sqlite"):
        sqlite = (FoldingSqliteStore if kind == "sqlite-folded" else SqliteSeriesStore)(
            tmp_path / "series.sqlite3"
        )
        yield sqlite
        sqlite.close()
        return
    database = request.getfixturevalue("fresh_database")
    open_influx: Callable[..., SeriesStore] = request.getfixturevalue("open_influx")
    if kind == "influxdb":
        yield open_influx(url=request.getfixturevalue("influx_server").url, database=database)
        return
    victoria = request.getfixturevalue("victoria_server")
    store = open_influx(
        url=victoria.url, database=database, query_api="prometheus", retention_by="server"
    )
    yield FlushedVictoria(store, victoria.flush)  # type: ignore[misc]


@pytest.fixture(params=["sqlite", "sqlite-folded", "influxdb", "victoriametrics"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SeriesStore]:
    yield from _open(request, request.param, tmp_path)


# VictoriaMetrics deletes whole series only: retention is its own -retentionPeriod.
@pytest.fixture(params=["sqlite", "sqlite-folded", "influxdb"])
def deleting_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SeriesStore]:
    yield from _open(request, request.param, tmp_path)


def reading(ts_ms: int, value: float, sensor: str = "water_level", device: str = "g1") -> Reading:
    return Reading("xiashan", device, sensor, T0 + ts_ms, value)


def everything(store: SeriesStore, device: str = "g1", sensor: str = "water_level") -> list[Bucket]:
    """All of a series in one-millisecond buckets: one bucket per stored point."""
    return store.series(device, sensor, T0 - 3_600_000, T0 + 3_600_000, 1)


def test_writing_new_points_returns_their_number(store):
    assert store.write([reading(1000, 1.0), reading(2000, 2.0)]) == 2


def test_writing_nothing_returns_zero(store):
    assert store.write([]) == 0


def test_a_redelivered_point_never_creates_a_second_point(store):
    store.write([reading(1000, 1.5), reading(2000, 2.5)])
    store.write([reading(1000, 1.5)])
    assert [(b.start_ms - T0, b.count, b.last) for b in everything(store)] == [
        (1000, 1, 1.5),
        (2000, 1, 2.5),
    ]


def test_a_point_repeated_within_one_batch_is_stored_once(store):
    store.write([reading(1000, 1.5), reading(1000, 1.5)])
    assert [b.count for b in everything(store)] == [1]


def test_latest_gives_the_newest_point_of_each_sensor(store):
    store.write([reading(3000, 3.0), reading(1000, 1.0), reading(2000, 20.0, "rssi")])
    assert store.latest("g1") == [
        LatestValue("rssi", T0 + 2000, 20.0),
        LatestValue("water_level", T0 + 3000, 3.0),
    ]


def test_latest_of_an_unknown_device_is_empty(store):
    store.write([reading(1000, 1.0)])
    assert store.latest("nobody") == []


def test_latest_by_device_gives_every_device_its_newest_points_in_one_answer(store):
    store.write(
        [
            reading(1000, 1.0, device="a"),
            reading(3000, 3.0, device="a"),
            reading(2000, 20.0, "rssi", "a"),
            reading(500, 5.0, device="b"),
        ]
    )
    assert store.latest_by_device() == {
        "a": [LatestValue("rssi", T0 + 2000, 20.0), LatestValue("water_level", T0 + 3000, 3.0)],
        "b": [LatestValue("water_level", T0 + 500, 5.0)],
    }


def test_latest_by_device_answers_only_the_devices_asked_for(store):
    store.write([reading(1000, 1.0, device="a"), reading(1000, 2.0, device="b")])
    assert store.latest_by_device(["b", "nobody"]) == {
        "b": [LatestValue("water_level", T0 + 1000, 2.0)]
    }


def test_series_buckets_by_step_with_min_max_mean_count_and_last(store):
    store.write([reading(0, 1.0), reading(10_000, 5.0), reading(20_000, 3.0), reading(MINUTE, 7.0)])
    assert store.series("g1", "water_level", T0, T0 + 2 * MINUTE, MINUTE) == [
        Bucket(T0, 1.0, 5.0, 3.0, 3, 3.0),
        Bucket(T0 + MINUTE, 7.0, 7.0, 7.0, 1, 7.0),
    ]


def test_series_drops_empty_buckets(store):
    store.write([reading(0, 1.0), reading(3 * MINUTE, 4.0)])
    buckets = store.series("g1", "water_level", T0, T0 + 5 * MINUTE, MINUTE)
    assert [b.start_ms - T0 for b in buckets] == [0, 3 * MINUTE]


def test_series_includes_the_start_and_excludes_the_end(store):
    store.write([reading(1000, 1.0), reading(2000, 2.0)])
    buckets = store.series("g1", "water_level", T0 + 1000, T0 + 2000, 1000)
    assert [(b.start_ms - T0, b.last) for b in buckets] == [(1000, 1.0)]


def test_buckets_align_to_multiples_of_the_step_even_when_the_start_does_not(store):
    store.write([reading(20_000, 1.0), reading(40_000, 2.0), reading(70_000, 3.0)])
    buckets = store.series("g1", "water_level", T0 + 30_000, T0 + 2 * MINUTE, MINUTE)
    assert [(b.start_ms - T0, b.count, b.last) for b in buckets] == [(0, 1, 2.0), (MINUTE, 1, 3.0)]


def test_series_keeps_devices_and_sensors_apart(store):
    store.write(
        [reading(0, 1.0, device="a"), reading(0, 2.0, device="b"), reading(0, 3.0, "rssi", "b")]
    )
    assert [b.last for b in store.series("b", "water_level", T0, T0 + MINUTE, MINUTE)] == [2.0]


def test_retention_deletes_only_points_before_the_cutoff_and_counts_them(deleting_store):
    store = deleting_store
    store.write([reading(1000, 1.0), reading(2000, 2.0, "rssi"), reading(5000, 5.0)])
    assert store.delete_before(T0 + 5000) == 2
    assert store.latest("g1") == [LatestValue("water_level", T0 + 5000, 5.0)]


def test_retention_with_nothing_old_deletes_nothing(deleting_store):
    store = deleting_store
    store.write([reading(5000, 5.0)])
    assert store.delete_before(T0) == 0
    assert [b.count for b in everything(store)] == [1]


def test_window_lasts_gives_the_newest_point_of_each_bucket_of_each_device_s_own_window(store):
    store.write(
        [
            reading(s * 1000 + 250 * (s % 3), float(s), device=d)
            for d in ("g1", "g2")
            for s in range(12)
        ]
        + [reading(7750, 99.0), reading(5000, 9.0, sensor="rssi")]
    )
    windows = {"g1": (T0 + 2000, T0 + 7500), "g2": (T0 + 500, T0 + 4000), "g3": (T0, T0 + 9000)}
    found = store.window_lasts("water_level", windows, 1000)
    # At its point's own time: g1's second 7 holds 7,250 ms; its 7,750 ms is past the end.
    assert found == {
        "g1": [
            (T0 + 2500, 2.0),
            (T0 + 3000, 3.0),
            (T0 + 4250, 4.0),
            (T0 + 5500, 5.0),
            (T0 + 6000, 6.0),
            (T0 + 7250, 7.0),
        ],
        "g2": [(T0 + 1250, 1.0), (T0 + 2500, 2.0), (T0 + 3000, 3.0)],
    }
    buckets = [
        (b.start_ms, b.last) for b in store.series("g1", "water_level", *windows["g1"], 1000)
    ]
    assert buckets == [(ts // 1000 * 1000, value) for ts, value in found["g1"]]


def test_window_lasts_of_no_devices_is_empty(store):
    store.write([reading(1000, 1.0)])
    assert store.window_lasts("water_level", {}, 1000) == {}
