"""The fleet's latest values kept in memory: read once, moved on by writes, refreshed."""

from __future__ import annotations

import threading

import pytest

from village_brain.core.records import Reading
from village_brain.store.base import LatestValue
from village_brain.store.latest_index import LatestIndex

from support.waiting import wait_until


class Clock:
    def __init__(self) -> None:
        self.s = 0.0

    def __call__(self) -> float:
        return self.s


class Server:
    """What the backend would answer for the fleet, and how often it was asked."""

    def __init__(self, answer: dict[str, list[LatestValue]]) -> None:
        self.answer = answer
        self.reads = 0
        self.hold: threading.Event | None = None
        self.fail = False

    def __call__(self) -> dict[str, list[LatestValue]]:
        self.reads += 1
        if self.hold is not None:
            self.hold.wait(10)
        if self.fail:
            raise OSError("the backend is unreachable")
        return {d: list(v) for d, v in self.answer.items()}


def r(device: str, sensor: str, ts_ms: int, value: float) -> Reading:
    return Reading("xs", device, sensor, ts_ms, value)


def test_the_fleet_is_read_once_then_moved_on_by_the_writes():
    server = Server({"g1": [LatestValue("rssi", 10, -70.0)]})
    index = LatestIndex(server, refresh_s=30, clock=Clock())
    index.written([r("g1", "rssi", 5, -80.0)])  # before the first read: the backend has it
    assert index.fleet() == {"g1": [LatestValue("rssi", 10, -70.0)]}
    index.written([r("g1", "rssi", 20, -60.0), r("g2", "battery", 20, 3.7)])
    index.written([r("g1", "water_level", 15, 1.5)])
    assert index.fleet() == {
        "g1": [LatestValue("rssi", 20, -60.0), LatestValue("water_level", 15, 1.5)],
        "g2": [LatestValue("battery", 20, 3.7)],
    }
    assert server.reads == 1


def test_a_late_point_does_not_replace_a_newer_one():
    index = LatestIndex(Server({"g1": [LatestValue("rssi", 10, -70.0)]}), clock=Clock())
    index.fleet()
    index.written([r("g1", "rssi", 9, -99.0)])
    assert index.fleet() == {"g1": [LatestValue("rssi", 10, -70.0)]}


def test_points_of_other_writers_appear_after_a_refresh_and_writes_meanwhile_stay():
    clock = Clock()
    server = Server({"g1": [LatestValue("rssi", 10, -70.0)]})
    index = LatestIndex(server, refresh_s=30, clock=clock)
    index.fleet()
    server.answer = {"g1": [LatestValue("rssi", 10, -70.0)], "x9": [LatestValue("rssi", 12, 1.0)]}
    server.hold = threading.Event()
    clock.s = 31
    index.fleet()  # starts the refresh and answers at once from what it has
    wait_until(lambda: server.reads == 2)
    index.written([r("g1", "rssi", 40, -50.0)])  # while the backend is still answering
    server.hold.set()
    wait_until(lambda: "x9" in index.fleet())
    assert index.fleet()["g1"] == [LatestValue("rssi", 40, -50.0)]
    assert server.reads == 2


def test_retention_forgets_points_before_the_cutoff():
    index = LatestIndex(
        Server({"g1": [LatestValue("rssi", 10, 1.0), LatestValue("battery", 50, 3.0)]}),
        clock=Clock(),
    )
    index.fleet()
    index.written([r("g2", "rssi", 20, 2.0)])
    index.forget_before(30)
    assert index.fleet() == {"g1": [LatestValue("battery", 50, 3.0)]}


def test_a_failed_first_read_is_the_callers_error_and_the_next_call_reads_again():
    server = Server({"g1": [LatestValue("rssi", 10, -70.0)]})
    server.fail = True
    index = LatestIndex(server, clock=Clock())
    with pytest.raises(OSError):
        index.fleet()
    server.fail = False
    assert index.fleet() == {"g1": [LatestValue("rssi", 10, -70.0)]}


def test_a_failed_refresh_keeps_the_values_and_is_tried_a_period_later():
    clock = Clock()
    server = Server({"g1": [LatestValue("rssi", 10, -70.0)]})
    index = LatestIndex(server, refresh_s=30, clock=clock)
    index.fleet()
    server.fail = True
    clock.s = 31
    index.fleet()
    wait_until(lambda: server.reads == 2)
    assert index.fleet() == {"g1": [LatestValue("rssi", 10, -70.0)]}
    server.fail = False
    assert server.reads == 2  # not again before another period
    clock.s = 62
    index.fleet()
    wait_until(lambda: server.reads == 3)


def test_a_second_point_at_the_newest_time_replaces_the_value_only_where_the_backend_does():
    for last_wins, kept in ((True, 2.0), (False, 1.0)):
        index = LatestIndex(Server({}), clock=Clock(), last_write_wins=last_wins)
        index.fleet()
        index.written([r("g1", "rssi", 10, 1.0), r("g1", "rssi", 10, 2.0)])
        assert index.fleet() == {"g1": [LatestValue("rssi", 10, kept)]}


def test_an_answer_already_given_is_not_changed_by_later_writes():
    index = LatestIndex(Server({"g1": [LatestValue("rssi", 10, 1.0)]}), clock=Clock())
    before = index.fleet()
    index.written([r("g1", "rssi", 20, 2.0), r("g1", "battery", 20, 3.0)])
    assert before == {"g1": [LatestValue("rssi", 10, 1.0)]}
    assert index.fleet() == {"g1": [LatestValue("battery", 20, 3.0), LatestValue("rssi", 20, 2.0)]}
