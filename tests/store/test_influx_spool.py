"""The on-disk spool that holds readings while InfluxDB cannot take them."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from village_brain.core.records import Reading
from village_brain.store.influx_spool import Spool, SpoolFull


def readings(count: int, first: int = 0) -> list[Reading]:
    """Readings valued first, first + 1, ... so their order shows in their values."""
    return [
        Reading("xiashan", "g1", "water_level", 1000 + i, float(i))
        for i in range(first, first + count)
    ]


@pytest.fixture
def spool(tmp_path: Path):
    s = Spool(tmp_path / "spool.sqlite3", max_points=20)
    yield s
    s.close()


def test_points_come_out_oldest_first(spool):
    spool.append(readings(3))
    spool.append(readings(2, first=3))
    assert [r.value for _, r in spool.peek(10)] == [0.0, 1.0, 2.0, 3.0, 4.0]


def test_removed_points_are_gone_and_the_rest_keep_their_order(spool):
    spool.append(readings(4))
    first_two = [seq for seq, _ in spool.peek(2)]
    spool.remove(first_two)
    assert len(spool) == 2
    assert [r.value for _, r in spool.peek(10)] == [2.0, 3.0]


def test_points_survive_reopening(tmp_path):
    path = tmp_path / "spool.sqlite3"
    first = Spool(path, max_points=10)
    first.append(readings(2))
    first.close()
    again = Spool(path, max_points=10)
    assert (len(again), [r.value for _, r in again.peek(10)]) == (2, [0.0, 1.0])
    again.close()


def test_a_batch_that_does_not_fit_is_refused_whole(spool):
    spool.append(readings(18))
    with pytest.raises(SpoolFull):
        spool.append(readings(3, first=18))
    assert len(spool) == 18


def test_filling_up_warns_once_at_each_of_half_four_fifths_and_nineteen_twentieths(spool, caplog):
    with caplog.at_level(logging.WARNING, logger="village_brain.store.influx_spool"):
        for i in range(20):
            spool.append(readings(1, first=i))
    assert [m for m in caplog.messages if "full" in m] == [
        "the InfluxDB spool is 50% full (10 of 20 points): InfluxDB has not taken writes for "
        "a while; when the spool is full, ingest stops acknowledging",
        "the InfluxDB spool is 80% full (16 of 20 points): InfluxDB has not taken writes for "
        "a while; when the spool is full, ingest stops acknowledging",
        "the InfluxDB spool is 95% full (19 of 20 points): InfluxDB has not taken writes for "
        "a while; when the spool is full, ingest stops acknowledging",
    ]


def test_it_warns_again_after_draining_and_filling_up_again(spool, caplog):
    spool.append(readings(10))
    spool.remove([seq for seq, _ in spool.peek(10)])
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="village_brain.store.influx_spool"):
        spool.append(readings(10))
    assert len([m for m in caplog.messages if "50% full" in m]) == 1
