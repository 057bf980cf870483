"""The stores `bench/ingest.py` can write to: starting them, filling them with history, and
counting what they hold for a time range (the loss and duplicate figures come from here,
not from what the ingest says it wrote)."""

from __future__ import annotations

import json
import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from village_brain.core.config import load_settings
from village_brain.core.records import Reading
from village_brain.store.sqlite_series import SqliteSeriesStore

SENSORS = ("water_level", "battery_voltage", "rssi", "air_temperature")
PREFILL_CHUNK = 50_000
PREFILL_STEP_MS = 60_000  # one point a minute of history per sensor


def levels(i: int) -> tuple[float, ...]:
    """What device i's sensors read (the backlog's message i reads those of device i too,
    for any fleet of a multiple of 100 devices)."""
    return (1.0 + (i % 100) / 100, 3.7, -80 - i % 20, 12.5)


def device_name(i: int) -> str:
    return f"dev-{i:05d}"


class Backend:
    """One store per consumer variant, each in its own file or database."""

    name = "sqlite"

    def __init__(self, root: Path) -> None:
        self.root = root

    def store_settings(self, variant: str) -> dict[str, Any]:
        return {"data_dir": str(self.root / variant)}

    def open(self, variant: str) -> Any:
        path = self.root / variant / "series.sqlite3"
        path.parent.mkdir(parents=True, exist_ok=True)
        return SqliteSeriesStore(path, "normal")

    def copy(self, source: str, target: str) -> bool:
        """Give `target` the series `source` holds, if this backend can copy files; the
        store is closed, so its files are whole."""
        for path in (self.root / source).glob("series*"):
            shutil.copyfile(path, self.root / target / path.name)
        return True

    def count(self, variant: str, devices: int, start_ms: int, end_ms: int) -> int:
        """Points stored with a timestamp in [start_ms, end_ms), through the store's reads."""
        store = self.open(variant)
        try:
            return sum(
                bucket.count
                for i in range(devices)
                for sensor in SENSORS
                for bucket in store.series(
                    device_name(i), sensor, start_ms, end_ms, end_ms - start_ms
                )
            )
        finally:
            store.close()

    def stop(self) -> None:
        pass


class InfluxBackend(Backend):
    """A private InfluxDB 1.x; each variant writes its own database, so counts never mix."""

    name = "influxdb"
    write_api = "v1"

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.server = self._start(root / "server")

    def _start(self, state_dir: Path) -> Any:
        from support.influx import start_influx

        return start_influx(state_dir)

    def database(self, variant: str) -> str:
        return "bench_" + variant.replace("-", "_")

    def store_settings(self, variant: str) -> dict[str, Any]:
        database = self.database(variant)
        self._create(database)
        return {
            "data_dir": str(self.root / variant),
            "backend": "influxdb",
            "influxdb": {
                "url": self.server.url,
                "database": database,
                "bucket": database,
                "write_api": self.write_api,
            },
        }

    def _create(self, database: str) -> None:
        self.server.create_database(database)

    def copy(self, source: str, target: str) -> bool:
        return False

    def open(self, variant: str) -> Any:
        from village_brain.store.influx_open import open_influx_store

        settings = load_settings(store=self.store_settings(variant))
        (self.root / variant).mkdir(parents=True, exist_ok=True)
        return open_influx_store(settings.store.influxdb, self.root / variant, lambda _r: None)

    def count(self, variant: str, devices: int, start_ms: int, end_ms: int) -> int:
        query = (
            f'SELECT count("value") FROM "reading" WHERE time >= {start_ms}ms AND time < {end_ms}ms'
        )
        series = self.server.query(query, database=self.database(variant))
        return int(series[0]["values"][0][1]) if series else 0

    def stop(self) -> None:
        self.server.stop()


class VictoriaBackend(InfluxBackend):
    """VictoriaMetrics taking InfluxDB line protocol on /api/v2/write (docs/influxdb.md).

    It keeps no databases (the bucket name is not stored), so each variant gets a server of
    its own: two variants writing the same keys into one would hide each other's losses.
    """

    name = "victoriametrics"
    write_api = "v2"

    def __init__(self, root: Path) -> None:
        Backend.__init__(self, root)
        self.servers: dict[str, Any] = {}

    def store_settings(self, variant: str) -> dict[str, Any]:
        if variant not in self.servers:
            from support.victoria import start_victoria

            self.servers[variant] = start_victoria(self.root / "server" / variant)
        self.server = self.servers[variant]
        settings = super().store_settings(variant)
        # Read back as a county runs it: rate windows rebuilt through the Prometheus API.
        settings["influxdb"] |= {"query_api": "prometheus", "retention_by": "server"}
        return settings

    def _create(self, database: str) -> None:
        pass  # any bucket name is taken

    def count(self, variant: str, devices: int, start_ms: int, end_ms: int) -> int:
        url = self.servers[variant].url
        httpx.get(url + "/internal/force_flush", timeout=30).raise_for_status()
        response = httpx.get(
            url + "/api/v1/export",
            params={
                "match[]": '{__name__="reading_value"}',
                "start": f"{start_ms / 1000:.3f}",
                "end": f"{end_ms / 1000:.3f}",
            },
            timeout=120,
        )
        response.raise_for_status()
        return sum(
            start_ms <= ts < end_ms
            for row in response.text.splitlines()
            if row.strip()
            for ts in json.loads(row)["timestamps"]
        )

    def stop(self) -> None:
        for server in self.servers.values():
            server.stop()


BACKENDS: dict[str, type[Backend]] = {b.name: b for b in (Backend, InfluxBackend, VictoriaBackend)}


def start_backend(name: str, root: Path) -> Backend:
    # The private-server helpers of the store tests; they install the server when missing.
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    return BACKENDS[name](root)


def prefill(backend: Backend, variant: str, points: int, devices: int, before_ms: int) -> float:
    """Write `points` of history ending before `before_ms`, spread over every device and
    sensor, through the store's own write; seconds taken."""
    began = time.perf_counter()
    store = backend.open(variant)
    try:
        chunk: list[Reading] = []
        for reading in _history(points, devices, before_ms):
            chunk.append(reading)
            if len(chunk) == PREFILL_CHUNK:
                store.write(chunk)
                chunk = []
        if chunk:
            store.write(chunk)
    finally:
        store.close()
    return time.perf_counter() - began


def _history(points: int, devices: int, before_ms: int) -> Iterator[Reading]:
    # Time-major, as a village reports: each minute, every device's sensors.
    per_series = -(-points // (devices * len(SENSORS)))
    emitted = 0
    for step in range(per_series, 0, -1):
        ts = before_ms - step * PREFILL_STEP_MS
        for i in range(devices):
            for k, sensor in enumerate(SENSORS):
                if emitted == points:
                    return
                emitted += 1
                # As the backlog reads, with a wobble well inside every shipped rule: a
                # history that jumped by metres made each round's first readings a rise, and
                # every round an alert storm of a thousand firings and resolutions.
                wobble = 0.01 * (step % 5)
                yield Reading("bench", device_name(i), sensor, ts, levels(i)[k] + wobble)
