"""Reading InfluxDB's answers into records: the fleet's newest values, read in one pass,
come out as they did when each series was read on its own."""

from __future__ import annotations

import random

import msgspec
import pytest

from village_brain.store.base import Bucket, LatestValue
from village_brain.store.influx_query import (
    QueryError,
    buckets,
    latest_by_device,
    latest_by_device_answer,
    latest_values,
)


def _by_device_series_at_a_time(series):
    """How the fleet's answer was read before the one-pass reader: the reference."""
    found: dict[str, list[LatestValue]] = {}
    for row in series:
        found.setdefault(row["tags"]["device"], []).extend(latest_values([row]))
    for values in found.values():
        values.sort(key=lambda v: v.sensor)
    return {device: values for device, values in found.items() if values}


def _answer(picks: random.Random, devices: int) -> list[dict]:
    series = []
    for d in range(devices):
        for sensor in picks.sample(["rssi", "water_level", "battery_voltage", "air_temp"], 3):
            value = picks.choice([None, 1, 2.5, -0.0, picks.uniform(-50, 50)])
            series.append(
                {
                    "name": "reading",
                    "tags": {"device": f"d{d % 7}", "sensor": sensor},
                    "columns": ["time", "value"],
                    "values": [[1_700_000_000_000 + picks.randint(0, 10**6), value]],
                }
            )
    picks.shuffle(series)
    return series


def test_the_fleets_newest_values_are_read_as_before():
    picks = random.Random(13)
    for _ in range(200):
        series = _answer(picks, picks.randint(0, 20))
        assert latest_by_device(series) == _by_device_series_at_a_time(series)


def test_a_device_whose_every_value_is_null_is_left_out():
    series = [
        {"tags": {"device": "a", "sensor": "rssi"}, "values": [[1, None]]},
        {"tags": {"device": "b", "sensor": "rssi"}, "values": [[1, -70]]},
    ]
    assert latest_by_device(series) == {"b": [LatestValue("rssi", 1, -70.0)]}


def test_a_bucket_with_any_aggregate_null_is_empty_until_its_point_is_whole():
    # Seen from InfluxDB 1.6 while a spooled point was being written: a count and a last
    # beside a null min.
    rows = [[0, None, 1.0, 1.0, 1, 1.0], [60, 1.0, 1.0, 1.0, 1, None], [120, 2.0, 3.0, 2.5, 2, 3.0]]
    assert buckets([{"values": rows}]) == [Bucket(120, 2.0, 3.0, 2.5, 2, 3.0)]


def _json(series: list[dict]) -> bytes:
    return msgspec.json.encode({"results": [{"statement_id": 0, "series": series}]})


def test_the_fleets_answer_decoded_into_records_equals_the_general_reading():
    picks = random.Random(14)
    for _ in range(200):
        series = _answer(picks, picks.randint(0, 20))
        assert latest_by_device_answer(_json(series)) == _by_device_series_at_a_time(series)


def test_an_answer_with_no_series_is_no_device():
    assert latest_by_device_answer(b'{"results": [{"statement_id": 0}]}') == {}


def test_an_answer_of_another_shape_is_read_the_general_way():
    series = [{"tags": {"device": "a", "sensor": "rssi"}, "values": [["1700000000000", "-70"]]}]
    assert latest_by_device_answer(_json(series)) == {
        "a": [LatestValue("rssi", 1_700_000_000_000, -70.0)]
    }


def test_an_influxql_error_in_the_fleets_answer_is_raised():
    with pytest.raises(QueryError, match="InfluxQL error: no such measurement"):
        latest_by_device_answer(b'{"results": [{"error": "no such measurement"}]}')
