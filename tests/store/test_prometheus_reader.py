"""Reading back from VictoriaMetrics as it ships: the Prometheus export and query API.

The shared test server shows just-written points to any query at once; this one keeps
VictoriaMetrics' defaults (queries for about "now" see nothing of the last 30 s, answers
are cached), as a county's server would.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from village_brain.core.records import Reading
from village_brain.core.timefmt import now_ms
from village_brain.store.base import LatestValue
from village_brain.store.influx_series import InfluxSeriesStore

from support.victoria import VictoriaServer, start_victoria
from support.waiting import wait_until

DAY = 86_400_000


@pytest.fixture(scope="module")
def shipped(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VictoriaServer]:
    server = start_victoria(tmp_path_factory.mktemp("victoria-shipped"), as_shipped=True)
    yield server
    server.stop()


@pytest.fixture
def store(shipped, open_influx, fresh_name) -> InfluxSeriesStore:
    return open_influx(
        url=shipped.url, database=fresh_name, query_api="prometheus", retention_by="server"
    )


@pytest.fixture
def fresh_name(request: pytest.FixtureRequest) -> str:
    return request.node.name.replace("[", "_").replace("]", "")


def reading(ts_ms: int, value: float, device: str = "g1") -> Reading:
    return Reading("xiashan", device, "water_level", ts_ms, value)


def test_a_point_written_seconds_ago_is_the_latest_despite_the_servers_latency_offset(
    shipped, store
):
    now = now_ms()
    store.write([reading(now - 3000, 1.0), reading(now - 2000, 2.0)])
    shipped.flush()
    assert store.latest("g1") == [LatestValue("water_level", now - 2000, 2.0)]


def test_a_sensor_silent_for_longer_than_latest_within_still_has_its_latest(
    shipped, open_influx, fresh_name
):
    store = open_influx(
        url=shipped.url,
        database=fresh_name,
        query_api="prometheus",
        retention_by="server",
        latest_within="1h",
    )
    old = now_ms() - 3 * DAY
    store.write([reading(old, 4.0), reading(old - 1000, 3.0)])
    shipped.flush()
    assert store.latest("g1") == [LatestValue("water_level", old, 4.0)]


def test_a_new_point_after_a_long_silence_replaces_the_remembered_latest(shipped, store):
    old = now_ms() - 3 * DAY
    store.write([reading(old, 4.0)])
    shipped.flush()
    assert store.reader.latest("g1") == [LatestValue("water_level", old, 4.0)]
    fresh = now_ms() - 1000
    store.write([reading(fresh, 5.0)])
    shipped.flush()
    assert store.reader.latest("g1") == [LatestValue("water_level", fresh, 5.0)]


def test_the_fleets_latest_comes_from_the_server_for_points_another_process_wrote(
    shipped, open_influx, fresh_name, tmp_path: Path
):
    settings = {"query_api": "prometheus", "retention_by": "server", "database": fresh_name}
    writer = open_influx(data_dir=tmp_path / "writer", url=shipped.url, **settings)
    reader = open_influx(data_dir=tmp_path / "reader", url=shipped.url, **settings)
    now = now_ms()
    writer.write([reading(now - 1000, float(i), f"d{i}") for i in range(50)])
    shipped.flush()
    fleet = wait_until(lambda: reader.latest_by_device(), what="the fleet's latest values")
    assert len(fleet) == 50
    assert fleet["d7"] == [LatestValue("water_level", now - 1000, 7.0)]


def test_a_redelivered_point_counts_once_in_a_series_without_deduplication_on_the_server(
    shipped, store
):
    now = now_ms() // 60_000 * 60_000 - 60_000
    store.write([reading(now, 1.0), reading(now + 1000, 3.0)])
    store.write([reading(now + 1000, 3.0)])
    shipped.flush()
    [bucket] = store.series("g1", "water_level", now, now + 60_000, 60_000)
    assert (bucket.count, bucket.mean, bucket.last) == (2, 2.0, 3.0)


def test_retention_is_left_to_victoriametrics(shipped, store):
    old = now_ms() - 3 * DAY
    store.write([reading(old, 1.0)])
    shipped.flush()
    assert store.delete_before(old + 1000) == 0
    assert store.latest("g1") == [LatestValue("water_level", old, 1.0)]


@pytest.fixture(scope="module")
def lists_five(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VictoriaServer]:
    """A server that lists at most five series, as a stock one lists at most 30,000."""
    server = start_victoria(
        tmp_path_factory.mktemp("victoria-five"), extra_flags=("-search.maxSeries=5",)
    )
    yield server
    server.stop()


@pytest.fixture
def eight_devices(lists_five, open_influx, fresh_name) -> InfluxSeriesStore:
    store = open_influx(
        url=lists_five.url, database=fresh_name, query_api="prometheus", retention_by="server"
    )
    now = now_ms()
    store.write([reading(now - 1000, float(i), f"d{i}") for i in range(8)])
    lists_five.flush()
    return store


def test_more_series_than_the_server_lists_still_gives_every_recent_latest_value(eight_devices):
    fleet = eight_devices.reader.latest_of_all()
    assert sorted(fleet) == [f"d{i}" for i in range(8)]


def test_more_series_than_the_server_lists_logs_the_flag_to_raise_once(eight_devices, caplog):
    eight_devices.reader.latest_of_all()
    eight_devices.reader.latest_of_all()
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1
    assert "-search.maxSeries" in warnings[0]
