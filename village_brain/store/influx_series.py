"""The line-protocol time-series backend (InfluxDB, VictoriaMetrics): writes that survive
outages; reads through InfluxQL or, for VictoriaMetrics, the Prometheus API.

`write` sends each batch synchronously. If InfluxDB is down or slow, the batch goes to
the on-disk spool instead, and a background thread sends the spool, oldest first, once
InfluxDB answers again; while anything waits there, new batches queue behind it so
points arrive in the order they were acknowledged. Points InfluxDB refuses go to the
dead-letter callback.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Protocol

from village_brain.core.records import Reading, Rejection
from village_brain.core.timefmt import now_ms
from village_brain.store.base import Bucket, LatestValue
from village_brain.store.influx_lines import line
from village_brain.store.influx_spool import Spool
from village_brain.store.influx_write import Delivery, LineWriter, deliver
from village_brain.store.latest_index import LatestIndex

log = logging.getLogger(__name__)

DeadLetter = Callable[[list[Rejection]], None]
STORE_REJECTED = "store_rejected"
RETRY_MIN_S = 0.5


class SeriesReader(Protocol):
    """How points come back from the server: InfluxQL for InfluxDB, the Prometheus query and
    export API for VictoriaMetrics. Each answers as `SeriesStore` does."""

    def latest(self, device: str) -> list[LatestValue]: ...

    def latest_of_all(self) -> dict[str, list[LatestValue]]: ...

    def series(
        self, device: str, sensor: str, start_ms: int, end_ms: int, step_ms: int
    ) -> list[Bucket]: ...

    def window_lasts(
        self, sensor: str, windows: Mapping[str, tuple[int, int]], step_ms: int
    ) -> dict[str, list[tuple[int, float]]]: ...

    def delete_before(self, cutoff_ms: int) -> int: ...

    def close(self) -> None: ...


class InfluxSeriesStore:
    def __init__(
        self,
        writer: LineWriter,
        reader: SeriesReader,
        spool: Spool,
        dead_letter: DeadLetter,
        max_per_request: int = 5_000,
        retry_max_s: float = 30.0,
        delete_points: bool = True,
    ) -> None:
        self.writer = writer
        self.reader = reader
        self.spool = spool
        self.dead_letter = dead_letter
        self.max_per_request = max_per_request
        self.retry_max_s = retry_max_s
        self.delete_points = delete_points
        self._write_lock = threading.Lock()
        self._latest = LatestIndex(reader.latest_of_all)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._drainer = threading.Thread(
            target=self._drain_loop, name="influx-spool-drain", daemon=True
        )
        self._drainer.start()

    def write(self, readings: Sequence[Reading]) -> int:
        """Write or spool the batch; return how many points InfluxDB has or will have.

        InfluxDB cannot say which points were new, so redelivered points count too.
        Raises `SpoolFull` when the batch could be neither written nor spooled.
        """
        if not readings:
            return 0
        with self._write_lock:
            if len(self.spool):
                self._spool(readings)
                self._latest.written(readings)
                return len(readings)
            outcome = deliver(self.writer, readings, self.max_per_request)
            if outcome.unsent:
                log.warning(
                    "%s; keeping %d points in the spool until InfluxDB takes them",
                    outcome.why_unsent,
                    len(outcome.unsent),
                )
                self._spool(outcome.unsent)
            if outcome.rejected:
                refused = {id(reading) for reading, _ in outcome.rejected}
                readings = [r for r in readings if id(r) not in refused]
            self._latest.written(readings)
        # Only once the rest is safe, so a full spool (and a retried batch) reports no twice.
        self._report(outcome)
        return len(readings)

    def latest(self, device: str) -> list[LatestValue]:
        return self.reader.latest(device)

    def latest_by_device(
        self, devices: Collection[str] | None = None
    ) -> dict[str, list[LatestValue]]:
        # The whole fleet, then the chosen devices: a list of devices as an InfluxQL regex or
        # OR chain would cost more to parse than the series it saves.
        found = self._latest.fleet()
        if devices is None:
            return found
        wanted = set(devices)
        return {device: values for device, values in found.items() if device in wanted}

    def series(
        self, device: str, sensor: str, start_ms: int, end_ms: int, step_ms: int
    ) -> list[Bucket]:
        return self.reader.series(device, sensor, start_ms, end_ms, step_ms)

    def window_lasts(
        self, sensor: str, windows: Mapping[str, tuple[int, int]], step_ms: int
    ) -> dict[str, list[tuple[int, float]]]:
        return self.reader.window_lasts(sensor, windows, step_ms) if windows else {}

    def delete_before(self, cutoff_ms: int) -> int:
        if not self.delete_points:
            return 0
        count = self.reader.delete_before(cutoff_ms)
        if count:
            self._latest.forget_before(cutoff_ms)
        return count

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        self._drainer.join(timeout=30)
        self.writer.close()
        self.reader.close()
        self.spool.close()

    def _spool(self, readings: Sequence[Reading]) -> None:
        self.spool.append(readings)
        self._wake.set()

    def _report(self, outcome: Delivery) -> None:
        if not outcome.rejected:
            return
        at = now_ms()
        entries = [_rejection(reading, why, at) for reading, why in outcome.rejected]
        log.warning("InfluxDB refused %d points: %s", len(entries), entries[0].detail)
        try:
            self.dead_letter(entries)
        except Exception:
            log.exception("could not record %d points InfluxDB refused", len(entries))

    def _drain_loop(self) -> None:
        delay = RETRY_MIN_S
        while not self._stop.is_set():
            # Clear before looking, so a batch spooled meanwhile still wakes the next wait.
            self._wake.clear()
            if not len(self.spool):
                self._wake.wait(1.0)
                continue
            try:
                progressed = self._drain_once()
            except Exception:
                log.exception("sending the InfluxDB spool failed")
                progressed = False
            if progressed:
                delay = RETRY_MIN_S
            else:
                self._stop.wait(delay)
                delay = min(delay * 2, self.retry_max_s)

    def _drain_once(self) -> bool:
        entries = self.spool.peek(self.max_per_request)
        outcome = deliver(self.writer, [r for _, r in entries], self.max_per_request)
        done = entries[: len(entries) - len(outcome.unsent)]
        self._report(outcome)
        self.spool.remove([seq for seq, _ in done])
        if done and not len(self.spool):
            log.info("the InfluxDB spool is empty again: InfluxDB takes writes")
        return bool(done)


def _rejection(reading: Reading, why: str, at_ms: int) -> Rejection:
    return Rejection(
        at_ms=at_ms,
        reason=STORE_REJECTED,
        detail=f"InfluxDB refused the point: {why}"[:500],
        # Readings arrive on the device's telemetry topic; it leads back to the source.
        topic=f"village/{reading.village}/{reading.device}/telemetry",
        village=reading.village,
        device=reading.device,
        sensor=reading.sensor,
        excerpt=line(reading),
    )
