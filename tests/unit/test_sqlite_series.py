"""The embedded time-series store."""

import pytest

from village_brain.core.records import Reading
from village_brain.store.base import Bucket, LatestValue
from village_brain.store.sqlite_series import SqliteSeriesStore


@pytest.fixture
def store(tmp_path):
    s = SqliteSeriesStore(tmp_path / "series.sqlite3")
    yield s
    s.close()


def reading(ts_ms: int, value: float, sensor: str = "water_level", device: str = "g1") -> Reading:
    return Reading("xiashan", device, sensor, ts_ms, value)


def test_write_reports_how_many_points_were_new(store):
    assert store.write([reading(1000, 1.0), reading(2000, 2.0)]) == 2


def test_a_redelivered_point_is_ignored_and_the_first_value_stays(store):
    store.write([reading(1000, 1.0)])
    assert store.write([reading(1000, 9.9)]) == 0
    assert store.latest("g1") == [LatestValue("water_level", 1000, 1.0)]


def test_latest_gives_the_newest_point_of_each_sensor(store):
    store.write([reading(3000, 3.0), reading(1000, 1.0), reading(2000, 20.0, "rssi")])
    assert store.latest("g1") == [
        LatestValue("rssi", 2000, 20.0),
        LatestValue("water_level", 3000, 3.0),
    ]


def test_latest_of_an_unknown_device_is_empty(store):
    assert store.latest("nobody") == []


def test_series_buckets_by_step_with_min_max_mean_count_and_last(store):
    store.write([reading(0, 1.0), reading(10_000, 5.0), reading(20_000, 3.0), reading(60_000, 7.0)])
    assert store.series("g1", "water_level", 0, 120_000, 60_000) == [
        Bucket(0, 1.0, 5.0, 3.0, 3, 3.0),
        Bucket(60_000, 7.0, 7.0, 7.0, 1, 7.0),
    ]


def test_series_includes_the_start_and_excludes_the_end(store):
    store.write([reading(1000, 1.0), reading(2000, 2.0)])
    buckets = store.series("g1", "water_level", 1000, 2000, 1000)
    assert [b.start_ms for b in buckets] == [1000]


def test_series_keeps_devices_apart(store):
    store.write([reading(0, 1.0, device="a"), reading(0, 2.0, device="b")])
    assert store.series("b", "water_level", 0, 1000, 1000)[0].last == 2.0


def test_retention_deletes_only_points_before_the_cutoff(store):
    store.write([reading(1000, 1.0), reading(5000, 5.0)])
    assert store.delete_before(5000) == 1
    assert store.latest("g1") == [LatestValue("water_level", 5000, 5.0)]


def test_points_survive_reopening_the_store(tmp_path):
    path = tmp_path / "series.sqlite3"
    first = SqliteSeriesStore(path)
    first.write([reading(1000, 1.0)])
    first.close()
    again = SqliteSeriesStore(path)
    assert again.write([reading(1000, 1.0), reading(2000, 2.0)]) == 1
    again.close()


def test_of_two_points_with_one_key_in_a_batch_the_first_stays(store):
    assert store.write([reading(1000, 9.0), reading(1000, 1.0)]) == 1
    assert store.latest("g1") == [LatestValue("water_level", 1000, 9.0)]
