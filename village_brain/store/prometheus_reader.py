"""Reading series back from VictoriaMetrics, which stores what InfluxDB's line protocol wrote
but answers no InfluxQL: raw points through `/api/v1/export`, the newest points through
MetricsQL's `last_over_time` and `tlast_over_time` on `/api/v1/query`.

A line `reading,village=…,device=…,sensor=… value=…` becomes the series `reading_value` with
labels village, device, sensor. A write through `/write?db=…` (write_api = "v1") also gets the
label `db`, and reads then ask for it, so several databases can share one server; a v2 write
gets no such label, so its Village Brain needs a server (or tenant) of its own.

Buckets are made here from raw points, with the same rule as the other backends, rather
than by a range query: those evaluate at step ends over (t - step, t], not [t, t + step).
"""

from __future__ import annotations

import json
import logging
import re
import sys
import threading
import time
from collections.abc import Callable, Mapping

import httpx
import msgspec

from village_brain.store.base import Bucket, LatestValue
from village_brain.store.bucketing import buckets_of, span, window_lasts
from village_brain.store.influx_lines import FIELD, MEASUREMENT
from village_brain.store.influx_write import error_text

log = logging.getLogger(__name__)

METRIC = f"{MEASUREMENT}_{FIELD}"
DB_LABEL = "db"
ALL_TIME_MS = 100 * 365 * 86_400_000
EPOCH_MARGIN_MS = 86_400_000
# More devices than this are asked for by the whole selector rather than by name.
MAX_NAMED_DEVICES = 200


class QueryError(Exception):
    """VictoriaMetrics could not answer a read."""


class TooManySeries(QueryError):
    """VictoriaMetrics refused to list more series than its `-search.maxSeries`."""


class _Labels(msgspec.Struct, gc=False):
    """The labels reads use; the others (village, db) are skipped while decoding, not kept
    in a dictionary each: a fleet's answer has tens of thousands of them."""

    device: str = ""
    sensor: str = ""


class _Exported(msgspec.Struct, gc=False):
    metric: _Labels
    values: list[float]
    timestamps: list[int]


class _Sample(msgspec.Struct, gc=False):
    metric: _Labels
    value: tuple[float, str]


class _Data(msgspec.Struct, gc=False):
    result: list[_Sample] = []


class _Answer(msgspec.Struct, gc=False):
    status: str
    data: _Data = msgspec.field(default_factory=_Data)
    error: str = ""


class _SeriesAnswer(msgspec.Struct, gc=False):
    status: str
    data: list[_Labels] = []
    error: str = ""


_exported = msgspec.json.Decoder(_Exported)
_series_answer = msgspec.json.Decoder(_SeriesAnswer)
_answer = msgspec.json.Decoder(_Answer)


def label_value(text: str) -> str:
    """A MetricsQL string literal: a JSON string is one (the same escapes)."""
    return json.dumps(text, ensure_ascii=False)


class PrometheusReader:
    def __init__(
        self,
        client: httpx.Client,
        database: str | None,
        latest_within_ms: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """`latest_within_ms`: how far back a series' newest point is looked for first; a
        series silent for longer is looked up over all time once (see `_latest`)."""
        self.client = client
        self.database = database
        self.latest_within_ms = latest_within_ms
        self.clock = clock
        self._lock = threading.Lock()
        self._old: dict[tuple[str, str], LatestValue] = {}
        self._warned_unlisted = False

    def latest(self, device: str) -> list[LatestValue]:
        return self._latest(self._selector(device=device)).get(device, [])

    def latest_of_all(self) -> dict[str, list[LatestValue]]:
        return self._latest(self._selector())

    def series(
        self, device: str, sensor: str, start_ms: int, end_ms: int, step_ms: int
    ) -> list[Bucket]:
        by_device = self._export(self._selector(device=device, sensor=sensor), start_ms, end_ms)
        return buckets_of(by_device.get(device, {}).items(), start_ms, end_ms, step_ms)

    def window_lasts(
        self, sensor: str, windows: Mapping[str, tuple[int, int]], step_ms: int
    ) -> dict[str, list[tuple[int, float]]]:
        # One export over the span of every window, as the InfluxQL reader does.
        start, end = span(windows)
        by_device = self._export(self._selector(sensor=sensor), start, end)
        return window_lasts(
            {device: points.items() for device, points in by_device.items()}, windows, step_ms
        )

    def delete_before(self, cutoff_ms: int) -> int:
        """VictoriaMetrics deletes whole series only, never points before a time: its own
        `-retentionPeriod` does retention (the settings insist on `retention_by = "server"`)."""
        return 0

    def close(self) -> None:
        self.client.close()

    def _selector(self, **labels: str) -> str:
        matchers = {DB_LABEL: self.database, **labels} if self.database else labels
        inside = ",".join(f"{name}={label_value(value)}" for name, value in matchers.items())
        return f"{METRIC}{{{inside}}}"

    def _export(self, selector: str, start_ms: int, end_ms: int) -> dict[str, dict[int, float]]:
        """Raw points in [start_ms, end_ms) as {device: {ts: value}} (one sensor is asked for).

        A series can come in several lines, and a redelivered point twice: keyed by time,
        each point counts once.
        """
        params = {"match[]": selector, "start": _seconds(start_ms), "end": _seconds(end_ms - 1)}
        content = self._get("/api/v1/export", params)
        found: dict[str, dict[int, float]] = {}
        for row in content.splitlines():
            if not row.strip():
                continue
            line = _exported.decode(row)
            points = found.setdefault(line.metric.device, {})
            for ts, value in zip(line.timestamps, line.values, strict=True):
                if start_ms <= ts < end_ms:
                    points[ts] = value
        return found

    def _latest(self, selector: str) -> dict[str, list[LatestValue]]:
        """The newest point of every series the selector matches, however old.

        A look over `latest_within` finds nearly all of them cheaply; a series silent for
        longer is looked up over all time once, then remembered, since only a new point
        (which the short look finds) can change its answer.
        """
        found = self._newest(selector, self.latest_within_ms)
        try:
            missing = self._series_keys(selector) - found.keys()
        except TooManySeries as exc:
            # The recent points are the answer that matters; a fleet read that failed
            # outright would hide every device, not just the long-silent ones.
            self._warn_unlisted(exc)
            missing = set()
        with self._lock:
            remembered = {key: self._old[key] for key in missing if key in self._old}
        unknown = missing - remembered.keys()
        if unknown:
            older = self._newest(self._narrowed(selector, unknown), ALL_TIME_MS)
            with self._lock:
                self._old.update(older)
            remembered.update(older)
        found.update(remembered)
        by_device: dict[str, list[LatestValue]] = {}
        for (device, _sensor), point in sorted(found.items()):
            by_device.setdefault(device, []).append(point)
        return by_device

    def _warn_unlisted(self, exc: TooManySeries) -> None:
        if not self._warned_unlisted:
            self._warned_unlisted = True
            log.warning(
                "sensors silent for longer than store.influxdb.latest_within are left out of "
                "the latest values: start VictoriaMetrics with -search.maxSeries above the "
                "number of series stored (%s)",
                exc,
            )

    def _narrowed(self, selector: str, keys: set[tuple[str, str]]) -> str:
        """The selector, limited to the devices of `keys` when they are few."""
        devices = sorted({device for device, _ in keys})
        if len(devices) > MAX_NAMED_DEVICES:
            return selector
        pattern = "|".join(re.escape(device) for device in devices)
        return selector[:-1] + f",device=~{label_value(pattern)}}}"

    def _series_keys(self, selector: str) -> set[tuple[str, str]]:
        """Every (device, sensor) the selector matches, from the index alone."""
        # start=0 would mean "unset", which is the last day.
        params = {"match[]": selector, "start": "1", "end": _seconds(self._ahead_ms())}
        answer = _series_answer.decode(self._get("/api/v1/series", params))
        if answer.status != "success":
            raise QueryError(f"VictoriaMetrics could not list series: {answer.error}")
        return {(labels.device, labels.sensor) for labels in answer.data}

    def _ahead_ms(self) -> int:
        # A minute ahead, so that neither clock skew nor the server's latency offset (which
        # it applies to queries for about "now") hides the freshest points.
        return int(self.clock() * 1000) + 60_000

    def _newest(self, selector: str, within_ms: int) -> dict[tuple[str, str], LatestValue]:
        at_ms = self._ahead_ms()
        # A window reaching back past 1970 finds nothing at all.
        window = f"[{min(within_ms + 60_000, at_ms - EPOCH_MARGIN_MS)}ms]"
        values = self._instant(f"last_over_time({selector}{window})", at_ms)
        times = self._instant(f"tlast_over_time({selector}{window})", at_ms)
        return {
            key: LatestValue(sys.intern(key[1]), round(times[key] * 1000), value)
            for key, value in values.items()
            if key in times
        }

    def _instant(self, query: str, at_ms: int) -> dict[tuple[str, str], float]:
        params = {"query": query, "time": _seconds(at_ms), "nocache": "1"}
        answer = _answer.decode(self._get("/api/v1/query", params))
        if answer.status != "success":
            raise QueryError(f"VictoriaMetrics could not answer {query!r}: {answer.error}")
        return {
            (sample.metric.device, sample.metric.sensor): float(sample.value[1])
            for sample in answer.data.result
        }

    def _get(self, path: str, params: Mapping[str, str]) -> bytes:
        try:
            response = self.client.get(path, params=params)
        except httpx.TransportError as exc:
            raise QueryError(f"VictoriaMetrics unreachable: {exc!r}") from exc
        if response.status_code == 422 and b"exceeds" in response.content:
            raise TooManySeries(f"VictoriaMetrics answered 422: {error_text(response)}")
        if response.status_code >= 300:
            raise QueryError(
                f"VictoriaMetrics answered {response.status_code}: {error_text(response)}"
            )
        return response.content


def _seconds(ms: int) -> str:
    return f"{ms / 1000:.3f}"
