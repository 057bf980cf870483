"""Draining a backlog with 1, 2 and 3 `village-brain serve` workers on RabbitMQ partitions.

A private RabbitMQ node (tests/support/rabbitmq.py: its own name, ports, cookie and data
directory) with the MQTT and consistent-hash plugins. For each drain the bench:
  1. starts the consumer(s) on a fresh queue prefix and waits until they consume, so every
     one has declared the topology and registered on every partition;
  2. stops them (SIGSTOP) and publishes the backlog straight to amq.topic with publisher
     confirms, as the MQTT plugin would (routing key village.bench.{device}.telemetry);
  3. resumes them (SIGCONT) and times the drain until every reading is committed.
The consumers are, in turn: a bare pika consumer that decodes the JSON and acks (what the
broker alone allows: the baseline) and N = 1, 2, 3 `serve` workers with `[ingest] input =
"amqp"`, each with its own data dir and SQLite series store. CPU is read from /proc for the
consumer processes (summed) and for the broker. At the end of each worker drain the stores
are opened and every (device, sensor, ts) counted: lost and stored twice.

With --cluster the workers share their state in a private PostgreSQL ([cluster]
postgres_dsn), as a county runs them: leases share the partitions out (each drain waits
until every worker holds its share), each worker consumes only its partitions' queues, and
alerts go through the evaluation queues.

Then a latency phase: 2 workers, devices publishing MQTT 3.1.1 QoS 1 to the node's MQTT
plugin at --rate; each reading carries its publish time (wall clock, same machine) and its
commit is seen on each worker's live feed (/api/v1/live, sent right after the commit).

Run:  .venv/bin/python bench/cluster.py --help
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import httpx
import paho.mqtt.client as mqtt
from cluster_amqp import ConfirmedPublisher, clear_topology, cpu_seconds, owners, session_pids
from ingest_backends import SENSORS, device_name

from village_brain.ingest.amqp_topology import Topology

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from support.postgres import PostgresServer, start_postgres
from support.rabbitmq import RabbitCluster, start_rabbitmq
from support.serve_process import logged_url

BARE = Path(__file__).with_name("cluster_bare.py")
FILTERS = ["village/+/+/telemetry"]
PARTITIONS = 8
PREFETCH = 1000
NO_PROGRESS_S = 30.0
READY_TIMEOUT_S = 90.0


def payload(i: int, ts_ms: int) -> bytes:
    values = (1.0 + (i % 100) / 100, 3.7, -80 - i % 20, 12.5)
    return json.dumps({"ts": ts_ms, "values": dict(zip(SENSORS, values, strict=True))}).encode()


def backlog(messages: int, devices: int, start_ts: int) -> Iterator[tuple[str, bytes]]:
    """Message i from device i % devices; timestamps unique per device."""
    for i in range(messages):
        key = f"village.bench.{device_name(i % devices)}.telemetry"
        yield key, payload(i, start_ts + i // devices)


def load_text() -> str:
    return "/".join(f"{x:.2f}" for x in os.getloadavg())


class Worker:
    """One `village-brain serve` with the AMQP input, its own config, data dir and log."""

    def __init__(
        self, root: Path, name: str, node: object, topology: Topology, dsn: str | None = None
    ) -> None:
        self.name, self.dir = name, root / name
        self.dir.mkdir(parents=True)
        self.log = self.dir / "serve.log"
        config = self.dir / "village-brain.toml"
        config.write_text(
            "\n".join(
                [
                    "[mqtt]",
                    f'url = "{node.mqtt_url}"',
                    f'client_id = "{name}"',
                    "[ingest]",
                    'input = "amqp"',
                    # The bench's devices report far faster than real ones.
                    "flood_min_readings = 1000000000",
                    "[amqp]",
                    f'urls = ["{node.amqp_url}"]',
                    f"partitions = {topology.partitions}",
                    f'queue_prefix = "{topology.prefix}"',
                    f"prefetch = {PREFETCH}",
                    "heartbeat = 600",  # stopped while the backlog is published
                    "[store]",
                    f'data_dir = "{self.dir / "data"}"',
                    "[auth]",
                    "anonymous_view = true",  # the bench reads stats and the live feed
                    "[http]",
                    'host = "127.0.0.1"',
                    "port = 0",
                    *cluster_section(dsn, topology.partitions),
                ]
            )
            + "\n"
        )
        command = [sys.executable, "-m", "village_brain.cli", "serve", "--config", str(config)]
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
        self.url = ""

    def ready(self) -> bool:
        if self.process.poll() is not None:
            raise SystemExit(f"{self.name} exited:\n{self.log.read_text()[-3000:]}")
        logged = self.log.read_bytes()
        self.url = logged_url(logged) or ""
        return b"receiving" in logged and bool(self.url)

    def owned(self) -> list[int]:
        return httpx.get(self.url + "/healthz", timeout=10).json().get("partitions_owned") or []

    def committed(self) -> int:
        stats = httpx.get(self.url + "/api/v1/ingest/stats", timeout=10).json()
        return stats["readings_stored"] + stats["readings_duplicate"]

    def signal(self, sig: int) -> None:
        self.process.send_signal(sig)

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    @property
    def store(self) -> Path:
        return self.dir / "data" / "series.sqlite3"


def cluster_section(dsn: str | None, partitions: int) -> list[str]:
    """With --cluster: shared PostgreSQL state, leases sharing the partitions out."""
    if dsn is None:
        return []
    return [
        "[cluster]",
        f'postgres_dsn = "{dsn}"',
        f"partitions = {partitions}",
        "lease_seconds = 3",
    ]


def wait_shared(workers: list[Worker]) -> None:
    """With --cluster: until the leases are shared fairly (each worker its share)."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    while True:
        counts = [len(w.owned()) for w in workers]
        if sum(counts) == PARTITIONS and max(counts) - min(counts) <= 1:
            return
        if time.monotonic() > deadline:
            raise SystemExit(f"the leases were not shared out in time: {counts}")
        time.sleep(0.2)


def wait_all(workers: list[Worker]) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while not all(w.ready() for w in workers):
        if time.monotonic() > deadline:
            raise SystemExit("the workers did not start consuming in time")
        time.sleep(0.2)


def count_stored(stores: list[Path], start_ms: int, end_ms: int) -> tuple[int, int]:
    """(points stored in total, distinct (device, sensor, ts)) over every worker's store."""
    with closing(sqlite3.connect(":memory:")) as conn:
        selects = []
        for i, path in enumerate(stores):
            conn.execute(f"ATTACH DATABASE 'file:{path}?mode=ro' AS w{i}")
            selects.append(
                f"SELECT s.device, s.sensor, p.ts FROM w{i}.points p "
                f"JOIN w{i}.series s ON s.id = p.series_id WHERE p.ts >= {start_ms} "
                f"AND p.ts < {end_ms}"
            )
        total = conn.execute(f"SELECT count(*) FROM ({' UNION ALL '.join(selects)})").fetchone()
        distinct = conn.execute(f"SELECT count(*) FROM ({' UNION '.join(selects)})").fetchone()
        return total[0], distinct[0]


@dataclass
class Drain:
    label: str
    load: float
    published_s: float
    elapsed: float
    readings: int
    cpu: float
    broker_cpu: float
    lost: int = 0
    twice: int = 0
    owned: str = ""

    def line(self, baseline: float | None) -> str:
        rate = self.readings / self.elapsed
        ratio = f" ({rate / baseline:.2f}× the bare consumer)" if baseline else ""
        text = (
            f"{self.label:<10} load {self.load:5.2f}  {rate:9,.0f} readings/s{ratio}  "
            f"{self.cpu / self.readings * 1e6:5.1f} µs CPU a reading (consumers) + "
            f"{self.broker_cpu / self.readings * 1e6:5.1f} µs (broker); drained in "
            f"{self.elapsed:.1f} s"
        )
        if self.label != "bare":
            text += f"; lost {self.lost}, stored twice {self.twice}; partitions {self.owned}"
        return text


class Bench:
    def __init__(
        self,
        args: argparse.Namespace,
        cluster: RabbitCluster,
        root: Path,
        postgres: PostgresServer | None = None,
    ) -> None:
        self.args, self.root, self.postgres = args, root, postgres
        self.node = cluster.nodes[0]
        assert self.node.process is not None
        self.broker_session = self.node.process.pid  # started in a session of its own
        self.runs = 0
        self.messages = args.readings // len(SENSORS)

    def topology(self) -> Topology:
        self.runs += 1
        return Topology(f"bench{self.runs}.ingest", PARTITIONS)

    def database(self) -> str | None:
        """A fresh shared database for one set of workers (--cluster), else None."""
        return None if self.postgres is None else self.postgres.fresh_database()

    def broker_cpu(self) -> float:
        return cpu_seconds(session_pids(self.broker_session))

    def publish(self, start_ts: int) -> float:
        began = time.perf_counter()
        items = backlog(self.messages, self.args.devices, start_ts)
        confirmed = ConfirmedPublisher(self.node.amqp_url, items).run()
        if confirmed != self.messages:
            raise SystemExit(f"the broker confirmed {confirmed} of {self.messages} messages")
        return time.perf_counter() - began

    def bare(self, start_ts: int) -> Drain:
        topology = self.topology()
        job = {
            "url": self.node.amqp_url,
            "prefix": topology.prefix,
            "partitions": topology.partitions,
            "filters": FILTERS,
            "prefetch": PREFETCH,
            "messages": self.messages,
        }
        child = subprocess.Popen(
            [sys.executable, str(BARE), json.dumps(job)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert child.stdin is not None and child.stdout is not None
        if child.stdout.readline().strip() != "ready":
            raise SystemExit("the bare consumer failed to start")
        load = os.getloadavg()[0]
        child.send_signal(signal.SIGSTOP)
        published = self.publish(start_ts)
        cpu, broker = cpu_seconds([child.pid]), self.broker_cpu()
        began = time.perf_counter()
        child.send_signal(signal.SIGCONT)
        result = json.loads(child.stdout.readline())
        elapsed = time.perf_counter() - began - result["waited"]  # minus its idle wait
        drain = Drain(
            "bare",
            load,
            published,
            elapsed,
            result["received"] * len(SENSORS),
            cpu_seconds([child.pid]) - cpu,
            self.broker_cpu() - broker,
        )
        child.stdin.write("\n")
        child.stdin.flush()
        child.wait(30)
        clear_topology(self.node.amqp_url, topology)
        return drain

    def workers(self, count: int, start_ts: int, end_ts: int) -> Drain:
        topology = self.topology()
        root = self.root / topology.prefix
        # Started together, as after a deployment's restart: which worker becomes a
        # partition's active consumer is up to who registers first.
        dsn = self.database()
        workers = [Worker(root, f"bench-w{i + 1}", self.node, topology, dsn) for i in range(count)]
        try:
            wait_all(workers)
            if dsn is not None:
                wait_shared(workers)
            load = os.getloadavg()[0]
            for w in workers:
                w.signal(signal.SIGSTOP)
            published = self.publish(start_ts)
            pids = [w.process.pid for w in workers]
            cpu, broker = cpu_seconds(pids), self.broker_cpu()
            began = time.perf_counter()
            for w in workers:
                w.signal(signal.SIGCONT)
            elapsed = self._drained(workers, began)
            drain = Drain(
                f"{count} worker" + "s" * (count > 1),
                load,
                published,
                elapsed,
                self.args.readings,
                cpu_seconds(pids) - cpu,
                self.broker_cpu() - broker,
            )
            listed = self.node.ctl("list_consumers", "queue_name", "consumer_tag", "active", "-q")
            owned = owners(listed, topology)
            drain.owned = " / ".join(f"{w.name}: {len(owned.get(w.name, []))}" for w in workers)
        finally:
            for w in workers:
                w.stop()
        total, distinct = count_stored([w.store for w in workers], start_ts, end_ts)
        expected = self.messages * len(SENSORS)
        drain.lost, drain.twice = expected - distinct, total - distinct
        clear_topology(self.node.amqp_url, topology)
        return drain

    def _drained(self, workers: list[Worker], began: float) -> float:
        expected = self.messages * len(SENSORS)
        last, moved = -1, time.perf_counter()
        while True:
            done = sum(w.committed() for w in workers)
            now = time.perf_counter()
            if done >= expected:
                return now - began
            if done != last:
                last, moved = done, now
            elif now - moved > NO_PROGRESS_S:
                print(f"  stopped at {done:,} of {expected:,} readings", flush=True)
                return moved - began
            time.sleep(0.1)

    def latency(self) -> str:
        args = self.args
        topology = self.topology()
        dsn = self.database()
        workers = [
            Worker(self.root / topology.prefix, f"bench-l{i + 1}", self.node, topology, dsn)
            for i in range(2)
        ]
        try:
            wait_all(workers)
            if dsn is not None:
                wait_shared(workers)
            since = int(time.time() * 1000)
            # Shared state: every worker's feed carries the others' commits too, so one
            # feed sees each reading once (through NOTIFY when the other worker stored it).
            feeds = [LiveFeed(w.url, since) for w in workers[: 1 if dsn else 2]]
            total = int(args.rate * args.seconds)
            load = load_text()
            offered = publish_at_rate(self.node.mqtt_port, args.rate, total, args.devices)
            deadline = time.monotonic() + 60
            while sum(len(f.latencies) for f in feeds) < total and time.monotonic() < deadline:
                time.sleep(0.1)
        finally:
            for w in workers:
                w.stop()
        clear_topology(self.node.amqp_url, topology)
        latencies = [x for f in feeds for x in f.latencies]
        dropped = sum(f.dropped for f in feeds)
        if len(latencies) < 2:
            return "latency: no reading was seen committed"
        cuts = statistics.quantiles(latencies, n=100, method="inclusive")
        return (
            f"latency, 2 workers, {offered:,.0f} msg/s offered ({args.rate:,.0f} asked) for "
            f"{args.seconds:.0f} s over MQTT QoS 1 (load {load} → {load_text()}):\n"
            f"  publish → committed (seen on the live feed): p50 {cuts[49]:.1f} ms, "
            f"p99 {cuts[98]:.1f} ms, max {max(latencies):.1f} ms; "
            f"{len(latencies):,} of {total:,} seen, {dropped} dropped by the feed"
        )


class LiveFeed:
    """A worker's /api/v1/live, read in a thread: publish → commit time of each message's
    water_level reading (one a message)."""

    def __init__(self, url: str, since_ms: int) -> None:
        self.url, self.since = url, since_ms
        self.latencies: list[float] = []
        self.dropped = 0
        self.opened = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()
        if not self.opened.wait(10):
            raise SystemExit(f"the live feed of {url} did not open")

    def _read(self) -> None:
        event = ""
        try:
            with httpx.stream("GET", self.url + "/api/v1/live", timeout=None) as response:
                self.opened.set()
                for line in response.iter_lines():
                    if line.startswith("event: "):
                        event = line[7:]
                    elif line.startswith("data: "):
                        self._data(event, line[6:])
        except httpx.HTTPError:
            pass  # the worker stopped

    def _data(self, event: str, data: str) -> None:
        now = time.time() * 1000
        if event == "resync":
            self.dropped += json.loads(data)["dropped"]
        elif event == "readings":
            self.latencies.extend(
                now - r["ts_ms"]
                for r in json.loads(data)["readings"]
                if r["sensor"] == "water_level" and r["ts_ms"] >= self.since
            )


def publish_at_rate(port: int, rate: float, total: int, devices: int) -> float:
    """MQTT 3.1.1 QoS 1 to the MQTT plugin, each payload stamped at publish; the rate offered."""
    client = mqtt.Client(
        mqtt.CallbackAPIVersion.VERSION2, client_id="bench-devices", protocol=mqtt.MQTTv311
    )
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)
    client.connect("127.0.0.1", port)
    client.loop_start()
    began = time.perf_counter()
    infos = []
    for i in range(total):
        delay = began + i / rate - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        topic = f"village/bench/{device_name(i % devices)}/telemetry"
        infos.append(client.publish(topic, payload(i, int(time.time() * 1000)), qos=1))
    offered = total / (time.perf_counter() - began)
    for info in infos:
        info.wait_for_publish(timeout=120)
    client.disconnect()
    client.loop_stop()
    return offered


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--readings", type=int, default=1_000_000, help="backlog per drain")
    parser.add_argument("--devices", type=int, default=10_000, help="devices it spreads over")
    parser.add_argument("--workers", default="1,2,3", help="worker counts to drain with")
    parser.add_argument("--rate", type=float, default=2_000.0, help="latency phase, msg/s")
    parser.add_argument("--seconds", type=float, default=20.0, help="latency phase; 0 skips")
    parser.add_argument(
        "--cluster",
        action="store_true",
        help="workers share state in a private PostgreSQL ([cluster] postgres_dsn): leases "
        "share the partitions out, alerts go through the evaluation queues",
    )
    args = parser.parse_args()
    try:
        args.counts = [int(x) for x in args.workers.split(",") if x.strip()]
    except ValueError:
        parser.error("--workers is a comma-separated list of counts, e.g. 1,2,3")
    if not args.counts or min(args.counts) < 1:
        parser.error("--workers needs counts ≥ 1")
    if args.readings < len(SENSORS) or args.devices < 1:
        parser.error(f"--readings must be ≥ {len(SENSORS)} and --devices ≥ 1")
    if args.rate <= 0 or args.seconds < 0:
        parser.error("--rate must be > 0 and --seconds ≥ 0")
    return args


def main() -> None:
    args = parse_args()
    with tempfile.TemporaryDirectory(prefix="vb-cluster-bench-") as tmp:
        print(f"starting a private RabbitMQ node; load {load_text()}", flush=True)
        cluster = start_rabbitmq(Path(tmp) / "rabbitmq", 1)
        postgres = start_postgres() if args.cluster else None
        try:
            run(Bench(args, cluster, Path(tmp), postgres))
        finally:
            cluster.stop()
            if postgres is not None:
                postgres.remove()


def run(bench: Bench) -> None:
    args = bench.args
    messages = bench.messages
    span = messages // args.devices + 2
    start = int(time.time() * 1000) - 3_600_000
    print(
        f"backlog: {messages:,} messages × {len(SENSORS)} readings = {messages * len(SENSORS):,} "
        f"readings from {args.devices:,} devices, {PARTITIONS} partitions, prefetch {PREFETCH}, "
        f"{os.cpu_count()} cores",
        flush=True,
    )
    base = bench.bare(start)
    print(base.line(None) + f"; published in {base.published_s:.1f} s", flush=True)
    baseline = base.readings / base.elapsed
    for index, count in enumerate(args.counts, start=1):
        first = start + index * span
        drain = bench.workers(count, first, first + span)
        print(drain.line(baseline) + f"; published in {drain.published_s:.1f} s", flush=True)
    if args.seconds > 0:
        print(bench.latency(), flush=True)
    print(f"load at the end {load_text()}")


if __name__ == "__main__":
    main()
