"""The InfluxDB backend when InfluxDB is down, slow or refuses points (real InfluxDB 1.x)."""

from __future__ import annotations

import time

import pytest

from village_brain.core.records import Reading
from village_brain.store.base import LatestValue
from village_brain.store.influx_spool import SpoolFull

from support.ports import free_port
from support.waiting import wait_until

T0 = 1_700_000_000_000 // 3_600_000 * 3_600_000
WEEKS_LATER = T0 + 30 * 86_400_000  # another shard: its field types are its own


def reading(ts_ms: int, value: float, sensor: str = "water_level") -> Reading:
    return Reading("xiashan", "g1", sensor, ts_ms, value)


def stored(store, sensor: str = "water_level") -> list[tuple[int, float]]:
    buckets = store.series("g1", sensor, T0 - 3_600_000, WEEKS_LATER + 3_600_000, 1)
    return [(b.start_ms, b.last) for b in buckets]


@pytest.fixture
def database(own_influx_server) -> str:
    return own_influx_server.create_database("village")


def test_points_written_while_influxdb_is_down_arrive_in_order_once_it_is_back(
    own_influx_server, database, open_influx
):
    store = open_influx(url=own_influx_server.url, database=database)
    own_influx_server.stop()
    # The same timestamp twice: only sending in order leaves the second value.
    assert store.write([reading(T0, 1.0), reading(T0 + 1000, 1.5)]) == 2
    assert store.write([reading(T0, 2.0)]) == 1
    assert len(store.spool) == 3
    own_influx_server.start()
    wait_until(lambda: not len(store.spool), what="the spool to drain")
    assert stored(store) == [(T0, 2.0), (T0 + 1000, 1.5)]


def test_writes_while_the_spool_is_not_empty_queue_behind_it(
    own_influx_server, database, open_influx
):
    store = open_influx(url=own_influx_server.url, database=database)
    own_influx_server.stop()
    store.write([reading(T0, 1.0)])
    own_influx_server.start()
    store.write([reading(T0, 2.0)])
    wait_until(lambda: not len(store.spool), what="the spool to drain")
    assert stored(store) == [(T0, 2.0)]


def test_a_write_to_a_hung_influxdb_is_spooled_after_the_timeout(
    own_influx_server, database, open_influx
):
    store = open_influx(url=own_influx_server.url, database=database, timeout="300ms")
    own_influx_server.pause()
    started = time.monotonic()
    try:
        assert store.write([reading(T0, 1.0)]) == 1
        assert time.monotonic() - started < 3
        assert len(store.spool) == 1
    finally:
        own_influx_server.resume()
    wait_until(lambda: stored(store) == [(T0, 1.0)], what="the spooled point to arrive")


def test_spooled_points_are_sent_after_village_brain_restarts(
    own_influx_server, database, open_influx, tmp_path
):
    first = open_influx(url=own_influx_server.url, database=database, data_dir=tmp_path / "d")
    own_influx_server.stop()
    first.write([reading(T0, 1.0)])
    first.close()
    own_influx_server.start()
    again = open_influx(url=own_influx_server.url, database=database, data_dir=tmp_path / "d")
    wait_until(lambda: stored(again) == [(T0, 1.0)], what="the spool left by the first run")


@pytest.mark.parametrize("write_api", ["v1", "v2"])
def test_a_full_spool_refuses_the_whole_batch_so_it_is_not_acknowledged(open_influx, write_api):
    unreachable = f"http://127.0.0.1:{free_port()}"
    store = open_influx(url=unreachable, write_api=write_api, spool_max_points=3)
    store.write([reading(T0, 1.0), reading(T0 + 1, 2.0)])
    with pytest.raises(SpoolFull):
        store.write([reading(T0 + 2, 3.0), reading(T0 + 3, 4.0)])
    assert [r.value for _, r in store.spool.peek(10)] == [1.0, 2.0]


def test_a_type_conflict_becomes_a_dead_letter_and_the_rest_of_the_batch_is_written(
    own_influx_server, database, open_influx, dead_letters
):
    # Someone else wrote an integer `value` into the same shard first.
    conflict = f"reading,village=xiashan,device=other,sensor=x value=1i {T0}"
    assert own_influx_server.write_lines(database, conflict).status_code == 204
    store = open_influx(url=own_influx_server.url, database=database)

    written = store.write([reading(T0 + 1000, 1.0), reading(WEEKS_LATER, 2.0)])

    assert written == 1
    assert stored(store) == [(WEEKS_LATER, 2.0)]
    [letter] = dead_letters
    assert (letter.reason, letter.village, letter.device, letter.sensor) == (
        "store_rejected",
        "xiashan",
        "g1",
        "water_level",
    )
    assert "field type conflict" in letter.detail
    line = f"reading,village=xiashan,device=g1,sensor=water_level value=1.0 {T0 + 1000}"
    assert letter.excerpt == line
    assert len(store.spool) == 0


def test_retention_left_to_the_server_deletes_nothing(own_influx_server, database, open_influx):
    store = open_influx(url=own_influx_server.url, database=database, retention_by="server")
    store.write([reading(T0, 1.0)])
    assert store.delete_before(T0 + 1000) == 0
    assert store.latest("g1") == [LatestValue("water_level", T0, 1.0)]


def test_the_latest_of_a_whole_fleet_takes_one_statement_per_sensor_type_not_per_device(
    influx_server, fresh_database, open_influx, monkeypatch
):
    store = open_influx(url=influx_server.url, database=fresh_database)
    store.write([Reading("xiashan", f"d{i}", "rssi", T0 + i, -i) for i in range(30)])
    store.write([Reading("xiashan", f"d{i}", "battery", T0 + i, i) for i in range(0, 30, 2)])
    statements: list[str] = []
    fetch = store.reader.query.fetch  # every statement goes through it, whoever reads the answer
    monkeypatch.setattr(
        store.reader.query, "fetch", lambda q, *method: statements.append(q) or fetch(q, *method)
    )
    wait_until(lambda: len(store.reader.latest_of_all()) == 30)
    statements.clear()
    found = store.reader.latest_of_all()
    assert len(statements) == 3  # the sensor types, then one for each of the two
    assert found["d0"] == [LatestValue("battery", T0, 0.0), LatestValue("rssi", T0, 0.0)]
    assert found["d7"] == [LatestValue("rssi", T0 + 7, -7.0)]


def test_the_fleets_latest_is_read_from_influxdb_once_then_follows_the_stores_writes(
    influx_server, fresh_database, open_influx, monkeypatch
):
    store = open_influx(url=influx_server.url, database=fresh_database)
    store.write([Reading("xiashan", f"d{i}", "rssi", T0 + i, -i) for i in range(30)])
    wait_until(lambda: len(store.reader.latest_of_all()) == 30)
    statements: list[str] = []
    fetch = store.reader.query.fetch
    monkeypatch.setattr(
        store.reader.query, "fetch", lambda q, *method: statements.append(q) or fetch(q, *method)
    )
    assert len(store.latest_by_device()) == 30
    read = len(statements)
    store.write([Reading("xiashan", "d7", "rssi", T0 + 100, -1.0)])
    assert store.latest_by_device(["d7", "d29"]) == {
        "d7": [LatestValue("rssi", T0 + 100, -1.0)],
        "d29": [LatestValue("rssi", T0 + 29, -29.0)],
    }
    assert len(statements) == read  # nothing asked of InfluxDB again
