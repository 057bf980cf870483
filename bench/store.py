"""The embedded store's costs: writes against the history's size, fleet-wide reads, long series.

In one run, each part in a fresh process and a scratch directory:
  writes  bytes written (every write syscall: WAL, checkpoint, temporary files) and CPU per
          reading, writing one reading per series per round into a store already holding
          some history, before (straight into the series-clustered table) and after (staged,
          then folded, the fold included in the figure);
  reads   GET /api/v1/devices, /api/v1/latest and the overview page's loads with 10,000
          devices, through the real FastAPI app, beside the store query alone; RSS;
  long    a 30-day series at 1-hour and 1-minute steps from a store of 40 million points,
          through the store and through the API;
  influx, victoria
          the fleet reads again with a private InfluxDB 1.x or VictoriaMetrics as the series
          store (Debian's influxdb or victoria-metrics is installed when missing).
The machine's load is printed with every part; --figures FILE also writes the headline
figures as JSON, which `bench/ingest.py` reads to judge them against the goals.
Run:  .venv/bin/python bench/store.py --help
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

sys.path.insert(0, str(Path(__file__).parent))

from prefill import SENSORS, device_ids, prefill

from village_brain.core.records import Reading
from village_brain.store.sqlite_db import connect
from village_brain.store.sqlite_series import SqliteSeriesStore

STEP_MS = 10_000
MINUTE = 60_000
DAY = 86_400_000
BATCH = 2_000  # the ingest's largest batch: 500 messages of four readings


@dataclass
class Part:
    """What a part prints, and its headline figures by name for `--figures` (bench/ingest.py
    reads them to judge the issue's goals)."""

    lines: list[str]
    figures: dict[str, float] = field(default_factory=dict)


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load {one:.2f} / {five:.2f} (1 / 5 min) on {os.cpu_count()} cores"


def written_bytes() -> int:
    with open("/proc/self/io") as io:
        return next(int(line.split()[1]) for line in io if line.startswith("wchar"))


def rss_mb() -> tuple[float, float]:
    with open("/proc/self/status") as status:
        now = next(int(line.split()[1]) for line in status if line.startswith("VmRSS"))
    return now / 1024, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def median_ms(action: Callable[[], object], rounds: int) -> float:
    action()  # warm the page cache and the app
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        action()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def prefill_apart(path: Path, devices: int, per_series: int, step_ms: int, end_ms: int) -> int:
    """prefill() in a process of its own, so its page cache never counts in this one's RSS."""
    command = [sys.executable, str(Path(__file__).parent / "prefill.py"), str(path.parent)]
    options = ["--devices", devices, "--points", per_series, "--step", step_ms, "--end-ms", end_ms]
    subprocess.run([*command, *map(str, options)], check=True, stdout=subprocess.DEVNULL)
    return devices * len(SENSORS) * per_series


# --- writes -------------------------------------------------------------------------------


class ClusteredWriter:
    """The write path before the staging table, verbatim: each batch straight into the
    (series_id, ts)-clustered table, in key order, on a WAL connection syncing every commit."""

    def __init__(self, path: Path) -> None:
        self.conn = connect(path, "full")
        self.ids = {
            (d, s): i for i, d, s in self.conn.execute("SELECT id, device, sensor FROM series")
        }

    def write(self, readings: list[Reading]) -> None:
        rows = sorted((self.ids[r.device, r.sensor], r.ts_ms, r.value) for r in readings)
        self.conn.execute("BEGIN IMMEDIATE")
        self.conn.execute(
            "INSERT OR IGNORE INTO points_history SELECT json_extract(value, '$[0]'), "
            "json_extract(value, '$[1]'), json_extract(value, '$[2]') FROM json_each(?)",
            (msgspec.json.encode(rows),),
        )
        self.conn.execute("COMMIT")

    def fold(self) -> None:
        """Nothing to fold."""

    def checkpoint(self) -> None:
        self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def close(self) -> None:
        self.conn.close()


class StagedWriter:
    def __init__(self, path: Path) -> None:
        self.store = SqliteSeriesStore(path, fold_every_s=1e9)
        self.write = self.store.write
        self.fold = self.store.fold
        self.close = self.store.close

    def checkpoint(self) -> None:
        with self.store.db._write_lock:
            self.store.db._writer.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def write_cost(history_per_series: int, devices: int, rounds: int, staged: bool) -> str:
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "series.sqlite3"
        ids = device_ids(devices)
        end = int(time.time() * 1000) // STEP_MS * STEP_MS - rounds * STEP_MS
        prefill(path, ids, history_per_series, STEP_MS, end)
        writer = StagedWriter(path) if staged else ClusteredWriter(path)
        series = [(d, s) for d in ids for s in SENSORS]
        readings = [
            Reading("bench", d, s, end + k * STEP_MS, (k % 40) / 4)
            for k in range(rounds)
            for d, s in series
        ]
        bytes0, cpu0 = written_bytes(), time.process_time()
        for at in range(0, len(readings), BATCH):
            writer.write(readings[at : at + BATCH])
        bytes1, cpu1 = written_bytes(), time.process_time()
        writer.fold()
        writer.checkpoint()
        bytes2, cpu2 = written_bytes(), time.process_time()
        writer.close()
    n = len(readings)
    layout = "staged + fold" if staged else "clustered    "
    return (
        f"  {history_per_series * len(series):>11,} points of history, {layout}: "
        f"write {(bytes1 - bytes0) / n:>7,.0f} B {(cpu1 - cpu0) / n * 1e6:5.1f} µs; "
        f"with fold and checkpoint {(bytes2 - bytes0) / n:>7,.0f} B "
        f"{(cpu2 - cpu0) / n * 1e6:5.1f} µs a reading"
    )


def writes(args: argparse.Namespace) -> Part:
    out = [
        f"writes: {args.write_devices:,} devices × {len(SENSORS)} sensors, "
        f"{args.rounds} rounds of one reading per series, batches of {BATCH:,}; {load()}"
    ]
    for history in args.history:
        for staged in (False, True):
            out.append(write_cost(history, args.write_devices, args.rounds, staged))
    return Part(out)


# --- reads --------------------------------------------------------------------------------


def api_client(series: Any, registry_path: Path):
    from fastapi.testclient import TestClient

    from village_brain.api.app import create_app
    from village_brain.api.context import ApiContext
    from village_brain.auth.gate import Gate
    from village_brain.auth.roles import Role
    from village_brain.core.catalog import default_catalog
    from village_brain.core.memory import hold_mmap_threshold
    from village_brain.ingest.stats import IngestStats
    from village_brain.store.registry import RegistryStore

    hold_mmap_threshold()  # as `serve` does at its start
    registry = RegistryStore(registry_path)
    stats = IngestStats()
    ctx = ApiContext(default_catalog(), series, registry, lambda: stats.snapshot(0, True))
    ctx.auth = Gate.closed().letting_anyone(Role.VIEWER)
    return TestClient(create_app(ctx)), registry


OVERVIEW = ("/", "/api/v1/devices", "/api/v1/latest")  # what the overview page loads


def fleet_reads(
    series: Any, client: Any, repeat: int, more_requests: int
) -> tuple[list[str], dict[str, float]]:
    """The fleet requests through the app beside the store's query alone, then RSS, and RSS
    again after `more_requests`: lines, and the figures the goals are judged on."""
    # The store keeps the fleet's newest points in memory once read: the first read is the
    # backend's query, which a request meets only after the service starts.
    started = time.perf_counter()
    series.latest_by_device()
    first_ms = (time.perf_counter() - started) * 1000
    figures = {
        "store: latest_by_device()": lambda: series.latest_by_device(),
        "GET /api/v1/devices": lambda: client.get("/api/v1/devices").raise_for_status(),
        "GET /api/v1/latest": lambda: client.get("/api/v1/latest").raise_for_status(),
        "overview page (/ + devices + latest)": lambda: [
            client.get(p).raise_for_status() for p in OVERVIEW
        ],
    }
    times = {name: median_ms(action, repeat) for name, action in figures.items()}
    lines = [f"  {'store: first latest_by_device(), queried':<40} {first_ms:8.1f} ms"]
    lines += [f"  {name:<40} {ms:8.1f} ms" for name, ms in times.items()]
    requests = 5 * (repeat + 1)  # 1 + 1 + 3 a round, one round to warm up
    now_mb, peak_mb = rss_mb()
    lines.append(
        f"  RSS {now_mb:.0f} MB now, {peak_mb:.0f} MB peak after {requests} requests "
        "(this process, all of it)"
    )
    line, peak_mb = more_requests_rss(client, more_requests, requests)
    keys = ("store_ms", "devices_ms", "latest_ms", "overview_ms")
    return [*lines, line], dict(zip(keys, times.values(), strict=True)) | {
        "first_ms": first_ms,
        "rss_peak_mb": peak_mb,
    }


def reads(args: argparse.Namespace) -> Part:
    from village_brain.core.devices import Device

    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "series.sqlite3"
        ids = device_ids(args.devices)
        now = int(time.time() * 1000) // STEP_MS * STEP_MS
        points = prefill_apart(path, args.devices, args.points_per_series, STEP_MS, now - STEP_MS)
        series = SqliteSeriesStore(path, fold_every_s=1e9)
        # The latest round is still staged, so reads go through both tables.
        series.write([Reading("bench", d, s, now, 1.0) for d in ids for s in SENSORS])
        client, registry = api_client(series, Path(scratch) / "registry.sqlite3")
        # Registered on first message, as most devices are: no sensors declared.
        registry.upsert_devices(Device(id=d, village="bench", source="auto") for d in ids)
        out = [
            f"reads: {args.devices:,} devices × {len(SENSORS)} sensors, {points:,} points "
            f"folded and {series.staged_points():,} staged; median of {args.repeat}; {load()}"
        ]
        lines, figures = fleet_reads(series, client, args.repeat, args.rss_requests)
        out += lines
        series.close()
        registry.close()
    return Part(out, {f"sqlite.{k}": v for k, v in figures.items()} | {"devices": args.devices})


def more_requests_rss(client, count: int, before: int) -> tuple[str, float]:
    """RSS once many more requests have come, each on a thread of its own as the test client
    serves them: whether memory grows with the threads that ever read. The line, and the
    peak, which the goal is judged on."""
    for at in range(count):
        client.get("/api/v1/latest" if at % 2 else "/api/v1/devices").raise_for_status()
    now_mb, peak_mb = rss_mb()
    line = f"  RSS {now_mb:.0f} MB now, {peak_mb:.0f} MB peak after {before + count} requests"
    return line, peak_mb


# --- long series --------------------------------------------------------------------------


def long_series(args: argparse.Namespace) -> Part:
    per_series = 30 * DAY // MINUTE
    devices = max(1, -(-args.long_points // (per_series * len(SENSORS))))  # at least as many
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "series.sqlite3"
        ids = device_ids(devices)
        end = int(time.time() * 1000) // MINUTE * MINUTE
        started = time.perf_counter()
        points = prefill_apart(path, devices, per_series, MINUTE, end)
        filled_s = time.perf_counter() - started
        series = SqliteSeriesStore(path, fold_every_s=1e9)
        series.write([Reading("bench", d, s, end, 1.0) for d in ids for s in SENSORS])
        client, registry = api_client(series, Path(scratch) / "registry.sqlite3")
        from village_brain.core.devices import Device

        device = ids[len(ids) // 2]
        registry.upsert_devices([Device(id=device, village="bench")])
        start = end - 30 * DAY
        out = [
            f"long: {points:,} points ({devices} devices × {len(SENSORS)} sensors × 30 days at "
            f"1 min, filled in {filled_s:.0f} s); a 30-day series; median of {args.repeat}; "
            f"{load()}"
        ]
        figures: dict[str, float] = {"long.points": points}
        for label, step in (("1h", 3_600_000), ("1min", MINUTE)):
            url = f"/api/v1/devices/{device}/series/water_level"
            params = {"start": str(start), "end": str(end + 1), "step": f"{step // 1000}s"}
            buckets = len(series.series(device, "water_level", start, end + 1, step))
            store_ms = median_ms(
                lambda step=step: series.series(device, "water_level", start, end + 1, step),
                args.repeat,
            )
            api_ms = median_ms(
                lambda params=params, url=url: client.get(url, params=params).raise_for_status(),
                args.repeat,
            )
            figures[f"long.{label}_ms"] = api_ms
            out.append(
                f"  step {label:<5} {buckets:>6,} buckets: store {store_ms:7.1f} ms, "
                f"GET series {api_ms:7.1f} ms"
            )
        series.close()
        registry.close()
    return Part(out, figures)


# --- InfluxDB and VictoriaMetrics reads ---------------------------------------------------


def server_reads(args: argparse.Namespace, kind: str) -> Part:
    """The fleet reads with a private InfluxDB 1.x or VictoriaMetrics as the series store,
    read back as a county would: InfluxQL, or VictoriaMetrics' Prometheus API."""
    # The private-server helpers the store tests use; they install the server if missing.
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from village_brain.core.config import InfluxSettings
    from village_brain.core.devices import Device
    from village_brain.store.influx_open import open_influx_store

    with tempfile.TemporaryDirectory() as scratch:
        server, settings = start_server(kind, Path(scratch) / kind)
        try:
            ids = device_ids(args.devices)
            written = fill_apart(server.url, kind, args.devices, args.influx_points_per_series)
            series = open_influx_store(
                InfluxSettings(url=server.url, **settings), Path(scratch) / "data", lambda _: None
            )
            client, registry = api_client(series, Path(scratch) / "registry.sqlite3")
            registry.upsert_devices(Device(id=d, village="bench", source="auto") for d in ids)
            out = [
                f"{kind} reads: {args.devices:,} devices × {len(SENSORS)} sensors, "
                f"{written:,} points; median of {args.repeat}; {load()}"
            ]
            lines, figures = fleet_reads(series, client, args.repeat, args.rss_requests)
            series.close()
            registry.close()
        finally:
            server.stop()
    return Part(out + lines, {f"{kind}.{k}": v for k, v in figures.items()})


def start_server(kind: str, state_dir: Path) -> tuple[Any, dict[str, str]]:
    if kind == "influxdb":
        from support.influx import start_influx

        server = start_influx(state_dir)
        server.create_database("bench")
        return server, {"database": "bench", "write_api": "v1"}
    from support.victoria import start_victoria

    # As docs/influxdb.md asks of a fleet over 30,000 series, so that the read is whole.
    server = start_victoria(state_dir, ("-search.maxSeries=1000000",))
    return server, {"query_api": "prometheus", "retention_by": "server"}


def fill_apart(url: str, kind: str, devices: int, per_series: int) -> int:
    """fill_server() in a process of its own, so its buffers never count in this one's RSS."""
    import multiprocessing

    child = multiprocessing.get_context("spawn").Process(
        target=fill_server, args=(url, kind, devices, per_series)
    )
    child.start()
    child.join()
    if child.exitcode != 0:
        raise SystemExit(f"filling {kind} failed (exit code {child.exitcode})")
    return per_series * devices * len(SENSORS)


def fill_server(url: str, kind: str, devices: int, per_series: int) -> None:
    """Write `per_series` points for each device's sensors through the line protocol."""
    import httpx

    from village_brain.store.influx_lines import lines

    params = {"precision": "ms"} | ({"db": "bench"} if kind == "influxdb" else {})
    ids = device_ids(devices)
    now = int(time.time() * 1000) // STEP_MS * STEP_MS
    chunk = max(1, 20_000 // len(SENSORS))  # devices a request
    for k in range(per_series):
        for at in range(0, len(ids), chunk):
            batch = [
                Reading("bench", d, s, now - k * STEP_MS, k / 4)
                for d in ids[at : at + chunk]
                for s in SENSORS
            ]
            httpx.post(
                url + "/write", params=params, content=lines(batch), timeout=60
            ).raise_for_status()
    if kind != "influxdb":  # searchable now rather than within a second
        httpx.get(url + "/internal/force_flush", timeout=30).raise_for_status()


def run_part(name: str) -> int:
    # Each part in its own process: its RSS is its own, and its pages leave with it.
    child = [sys.executable, __file__, *sys.argv[1:], "--in-child", name]
    return subprocess.run(child, check=False).returncode


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--parts", default="writes,reads,long", help="comma-separated")
    parser.add_argument(
        "--history",
        default="0,300,2500",
        help="points of history per series before the writes, comma-separated",
    )
    parser.add_argument("--write-devices", type=int, default=1_000)
    parser.add_argument("--rounds", type=int, default=24, help="readings per series written")
    parser.add_argument("--devices", type=int, default=10_000, help="fleet for the reads")
    parser.add_argument("--points-per-series", type=int, default=100, help="for the reads")
    parser.add_argument("--long-points", type=int, default=40_000_000)
    parser.add_argument("--influx-points-per-series", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--rss-requests", type=int, default=60, help="more fleet requests before RSS again"
    )
    parser.add_argument(
        "--figures", type=Path, help="also write the headline figures to this file, as JSON"
    )
    parser.add_argument("--in-child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    try:
        args.history = [int(h) for h in args.history.split(",")]
    except ValueError:
        parser.error("--history: whole numbers separated by commas, e.g. 0,300,2500")
    parts: dict[str, Callable[[argparse.Namespace], Part]] = {
        "writes": writes,
        "reads": reads,
        "long": long_series,
        "influx": lambda a: server_reads(a, "influxdb"),
        "victoria": lambda a: server_reads(a, "victoriametrics"),
    }
    chosen = [p.strip() for p in args.parts.split(",")]
    unknown = [p for p in chosen if p not in parts]
    if unknown:
        parser.error(f"--parts: unknown {', '.join(unknown)}; choose from {', '.join(parts)}")
    if min(args.history, default=0) < 0 or args.rounds < 1 or args.devices < 1:
        parser.error("--history, --rounds and --devices must not be negative")
    if args.in_child:
        part = parts[args.in_child](args)
        for line in part.lines:
            print(line, flush=True)
        if args.figures:
            record_figures(args.figures, part.figures)
        return 0
    print(f"bench/store.py, Python {sys.version.split()[0]}; {load()}", flush=True)
    if args.figures:
        args.figures.write_text("{}", encoding="utf-8")
    return max(run_part(name) for name in chosen)


def record_figures(path: Path, figures: dict[str, float]) -> None:
    # Parts run one after another, each adding its own.
    path.write_text(json.dumps(json.loads(path.read_text(encoding="utf-8")) | figures))


if __name__ == "__main__":
    sys.exit(main())
