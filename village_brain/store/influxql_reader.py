"""Reading series back from InfluxDB with InfluxQL (1.x natively, 2.x and 3.x through /query)."""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor

from village_brain.store.base import Bucket, LatestValue
from village_brain.store.bucketing import span, window_lasts
from village_brain.store.influx_query import (
    LATEST_OF_ALL_STATEMENT,
    SENSORS_STATEMENT,
    InfluxQL,
    buckets,
    count_before_statement,
    delete_before_statement,
    latest_by_device_answer,
    latest_of_sensor_statement,
    latest_statement,
    latest_values,
    merged,
    points_by_device,
    sensor_points_statement,
    series_statement,
    tag_values,
    total_count,
)

# InfluxDB 1.x spends its time on the fleet's answer series by series (about 30 µs each on
# one core): asked for a sensor type at a time, side by side, it uses every core it has.
FLEET_READERS = 4


class InfluxQLReader:
    def __init__(self, query: InfluxQL) -> None:
        self.query = query
        self._fleet_readers = ThreadPoolExecutor(FLEET_READERS, thread_name_prefix="influx-read")

    def latest(self, device: str) -> list[LatestValue]:
        return latest_values(self.query.select(latest_statement(device)))

    def latest_of_all(self) -> dict[str, list[LatestValue]]:
        """The fleet's latest values: one statement per sensor type, run side by side.

        However many devices there are, the statements are as many as the sensor types.
        """
        sensors = tag_values(self.query.select(SENSORS_STATEMENT))
        if len(sensors) <= 1:
            return latest_by_device_answer(self.query.fetch(LATEST_OF_ALL_STATEMENT))
        statements = [latest_of_sensor_statement(sensor) for sensor in sensors]
        answers = self._fleet_readers.map(self.query.fetch, statements)
        return merged(latest_by_device_answer(answer) for answer in answers)

    def series(
        self, device: str, sensor: str, start_ms: int, end_ms: int, step_ms: int
    ) -> list[Bucket]:
        return buckets(
            self.query.select(series_statement(device, sensor, start_ms, end_ms, step_ms))
        )

    def window_lasts(
        self, sensor: str, windows: Mapping[str, tuple[int, int]], step_ms: int
    ) -> dict[str, list[tuple[int, float]]]:
        # One statement over the span of every window: a statement per device would be an
        # HTTP round trip each, and a list of devices costs more to parse than it saves.
        start, end = span(windows)
        answer = self.query.select(sensor_points_statement(sensor, start, end))
        return window_lasts(points_by_device(answer), windows, step_ms)

    def delete_before(self, cutoff_ms: int) -> int:
        """Delete old points and return how many there were just before.

        InfluxQL's DELETE does not say how many points went, hence the count first.
        """
        count = total_count(self.query.select(count_before_statement(cutoff_ms)))
        if count:
            self.query.execute(delete_before_statement(cutoff_ms))
        return count

    def close(self) -> None:
        self._fleet_readers.shutdown(wait=True)
        self.query.close()
