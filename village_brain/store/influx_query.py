"""Reading series back with InfluxQL through the 1.x-compatible `/query` endpoint.

InfluxDB 1.x serves it natively, 2.x through a DBRP mapping and 3.x as its InfluxQL API,
so these few statements are the one read path for every current InfluxDB.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from operator import attrgetter
from typing import Any

import httpx
import msgspec

from village_brain.store.base import Bucket, LatestValue
from village_brain.store.influx_lines import FIELD, MEASUREMENT
from village_brain.store.influx_write import error_text

Row = dict[str, Any]


class QueryError(Exception):
    """InfluxDB could not answer an InfluxQL statement."""


def quote(text: str) -> str:
    """An InfluxQL string literal."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def ns(ms: int) -> int:
    # A bare integer in a time comparison is nanoseconds in every InfluxQL dialect.
    return ms * 1_000_000


class InfluxQL:
    def __init__(self, client: httpx.Client, database: str) -> None:
        self.database = database
        self.client = client

    def select(self, statement: str) -> list[Row]:
        """Every series of a read statement, each {name, tags, columns, values}."""
        return series_of(self.fetch(statement))

    def execute(self, statement: str) -> None:
        """A statement that changes data; 1.x insists these come by POST."""
        series_of(self.fetch(statement, "POST"))

    def fetch(self, statement: str, method: str = "GET") -> bytes:
        """The answer to a statement as InfluxDB sent it (JSON), for a reader of its own."""
        params = {"db": self.database, "epoch": "ms", "q": statement}
        try:
            response = self.client.request(method, "/query", params=params)
        except httpx.TransportError as exc:
            raise QueryError(f"InfluxDB unreachable: {exc!r}") from exc
        if response.status_code >= 300:
            raise QueryError(f"InfluxDB answered {response.status_code}: {error_text(response)}")
        return response.content

    def close(self) -> None:
        self.client.close()


def series_of(content: bytes) -> list[Row]:
    # msgspec decodes the fleet's answer (megabytes of JSON) several times faster.
    result = msgspec.json.decode(content)["results"][0]
    if "error" in result:
        raise QueryError(f"InfluxQL error: {result['error']}")
    return result.get("series", [])


# The newest raw point of each series rather than last(): with 40,000 series InfluxDB 1.6
# answered this in about half the time of the selector.
_NEWEST = "ORDER BY time DESC LIMIT 1"


def latest_statement(device: str) -> str:
    return (
        f'SELECT "{FIELD}" FROM "{MEASUREMENT}" '
        f'WHERE "device" = {quote(device)} GROUP BY "sensor" {_NEWEST}'
    )


# One statement for the whole fleet: InfluxDB answers one series per (device, sensor).
LATEST_OF_ALL_STATEMENT = (
    f'SELECT "{FIELD}" FROM "{MEASUREMENT}" GROUP BY "device", "sensor" {_NEWEST}'
)

# The sensor types stored, from the index alone (milliseconds whatever the fleet).
SENSORS_STATEMENT = f'SHOW TAG VALUES FROM "{MEASUREMENT}" WITH KEY = "sensor"'


def latest_of_sensor_statement(sensor: str) -> str:
    """The fleet's newest point of one sensor type, in the same shape as the fleet's."""
    return (
        f'SELECT "{FIELD}" FROM "{MEASUREMENT}" WHERE "sensor" = {quote(sensor)} '
        f'GROUP BY "device", "sensor" {_NEWEST}'
    )


def tag_values(series: list[Row]) -> list[str]:
    """The values of a SHOW TAG VALUES answer."""
    return sorted({str(value) for row in series for _key, value in row["values"]})


def merged(parts: Iterable[dict[str, list[LatestValue]]]) -> dict[str, list[LatestValue]]:
    """Answers of `latest_by_device_answer` for disjoint sensors, as one answer."""
    found: dict[str, list[LatestValue]] = {}
    for part in parts:
        for device, values in part.items():
            have = found.get(device)
            if have is None:
                found[device] = values
            else:
                have.extend(values)
    for values in found.values():
        values.sort(key=_sensor)
    return found


def series_statement(device: str, sensor: str, start_ms: int, end_ms: int, step_ms: int) -> str:
    # fill(none) drops empty buckets; GROUP BY time() aligns buckets to multiples of the
    # step since the epoch, the same rule as the embedded store.
    return (
        f'SELECT min("{FIELD}"), max("{FIELD}"), mean("{FIELD}"), count("{FIELD}"), '
        f'last("{FIELD}") FROM "{MEASUREMENT}" '
        f'WHERE "device" = {quote(device)} AND "sensor" = {quote(sensor)} '
        f"AND time >= {ns(start_ms)} AND time < {ns(end_ms)} "
        f"GROUP BY time({step_ms}ms) fill(none)"
    )


def sensor_points_statement(sensor: str, start_ms: int, end_ms: int) -> str:
    """Every device's raw points of one sensor in [start, end), one series per device."""
    return (
        f'SELECT "{FIELD}" FROM "{MEASUREMENT}" WHERE "sensor" = {quote(sensor)} '
        f'AND time >= {ns(start_ms)} AND time < {ns(end_ms)} GROUP BY "device"'
    )


def points_by_device(series: list[Row]) -> dict[str, list[tuple[int, float | None]]]:
    """The raw points of a statement grouped by device, as {device: [(ts, value)]}."""
    return {row["tags"]["device"]: row["values"] for row in series}


def count_before_statement(cutoff_ms: int) -> str:
    return f'SELECT count("{FIELD}") FROM "{MEASUREMENT}" WHERE time < {ns(cutoff_ms)}'


def delete_before_statement(cutoff_ms: int) -> str:
    return f'DELETE FROM "{MEASUREMENT}" WHERE time < {ns(cutoff_ms)}'


def latest_values(series: list[Row]) -> list[LatestValue]:
    found = [
        LatestValue(row["tags"]["sensor"], int(ts), float(value))
        for row in series
        for ts, value in row["values"]
        if value is not None
    ]
    return sorted(found, key=lambda v: v.sensor)


class _NewestSeries(msgspec.Struct, gc=False):
    tags: dict[str, str]
    values: list[tuple[int, float | None]]


class _NewestResult(msgspec.Struct, gc=False):
    series: list[_NewestSeries] = []
    error: str | None = None


class _NewestAnswer(msgspec.Struct, gc=False):
    results: list[_NewestResult]


_newest_answer = msgspec.json.Decoder(_NewestAnswer)


def latest_by_device_answer(content: bytes) -> dict[str, list[LatestValue]]:
    """`latest_by_device` straight from the fleet statement's JSON.

    Decoded into typed records: for 40,000 series, in less than half the time of building
    dictionaries first, and nothing of it for the cycle collector to scan. An answer of
    another shape (a server writing times as text, say) is read the general way.
    """
    try:
        answer = _newest_answer.decode(content)
    except msgspec.ValidationError:
        return latest_by_device(series_of(content))
    result = answer.results[0]
    if result.error is not None:
        raise QueryError(f"InfluxQL error: {result.error}")
    found: dict[str, list[LatestValue]] = {}
    for row in result.series:
        sensor = sys.intern(row.tags["sensor"])  # one copy for the fleet's index to keep
        for ts, value in row.values:
            if value is not None:
                _add(found, row.tags["device"], LatestValue(sensor, ts, value))
    for values in found.values():
        values.sort(key=_sensor)
    return found


def _add(found: dict[str, list[LatestValue]], device: str, point: LatestValue) -> None:
    values = found.get(device)
    if values is None:
        found[device] = [point]
    else:
        values.append(point)


def latest_by_device(series: list[Row]) -> dict[str, list[LatestValue]]:
    # One pass, one sort a device: this runs over 40,000 series for a fleet of 10,000.
    found: dict[str, list[LatestValue]] = {}
    for row in series:
        tags = row["tags"]
        sensor = sys.intern(tags["sensor"])
        for ts, value in row["values"]:
            if value is not None:
                _add(found, tags["device"], LatestValue(sensor, int(ts), float(value)))
    for values in found.values():
        values.sort(key=_sensor)
    return found


_sensor = attrgetter("sensor")


def buckets(series: list[Row]) -> list[Bucket]:
    # While a point is being written, InfluxDB 1.x can answer with a bucket whose
    # aggregates are null, all of them or only some (a count and a last beside a null
    # min): it holds no whole point yet, so it is an empty bucket until the next read.
    return [
        Bucket(int(ts), float(lo), float(hi), float(mean), int(n), float(last))
        for row in series
        for ts, lo, hi, mean, n, last in row["values"]
        if n and None not in (lo, hi, mean, last)
    ]


def total_count(series: list[Row]) -> int:
    return sum(int(values[1]) for row in series for values in row["values"])
