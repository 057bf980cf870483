"""Ingest throughput and latency through a real Mosquitto, against a bare paho subscriber.

Each round publishes a backlog of N telemetry messages at QoS 1 into the persistent
sessions of three consumers, then drains it with each in turn, each in a fresh process, in
an order that alternates between rounds:
  (a) a bare stock paho subscriber that only decodes the JSON (the baseline),
  (b) the full ingest without alert rules, and (c) with the shipped alert rules: decode,
      validate, store, acknowledge after commit.
The figure is each round's (b)/(a) and (c)/(a), and their median over the rounds; the
machine's load is printed with every round. Loss and duplicates are counted in the store
itself for the round's timestamps. Then a latency phase publishes at a fixed rate with (c)
running and reports publish → committed p50/p99, and `bench/store.py` measures the fleet
reads (SQLite, and the run's backend if another) and a 30-day series. The run ends with
the goals, each met, not met, or not measured by this run's options.

Run:  .venv/bin/python bench/ingest.py --help
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from goals import Throughput, ingest_goals, latency_goal, read_goals, report
from ingest_backends import (
    BACKENDS,
    SENSORS,
    Backend,
    device_name,
    levels,
    prefill,
    start_backend,
)

from village_brain.broker.mosquitto import MosquittoProcess, find_mosquitto
from village_brain.broker.ports import pick_free_port

try:
    from village_brain.ingest.mqtt_wire import WireClient
except ImportError:  # an older checkout, measured for a before/after comparison
    WireClient = mqtt.Client  # type: ignore[misc,assignment]

CONSUMER = Path(__file__).with_name("ingest_consumer.py")
STORE_BENCH = Path(__file__).with_name("store.py")
READ_PARTS = {"sqlite": "reads", "influxdb": "reads,influx", "victoriametrics": "reads,victoria"}
VARIANTS = {"no-alerts": False, "alerts": True}
CONSUMERS = ("bare", *VARIANTS)
OUTSTANDING = 50_000  # publishes in flight at most, below the 65,535 MQTT message ids


def payload(i: int, ts_ms: int) -> bytes:
    values = dict(zip(SENSORS, levels(i), strict=True))
    return json.dumps({"ts": ts_ms, "values": values}).encode()


def publisher(port: int, client_id: str) -> mqtt.Client:
    # The load generator, not a baseline: ingest's client reads the broker's PUBACKs in
    # one recv per burst instead of three per PUBACK, so the publisher keeps up better.
    client = WireClient(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)
    client.connect("127.0.0.1", port)
    client.loop_start()
    return client


def publish_backlog(port: int, count: int, devices: int, start_ts: int) -> float:
    """Queue `count` messages; device i % devices, timestamps unique per device."""
    client = publisher(port, "bench-publisher")
    began = time.perf_counter()
    infos = []
    for i in range(count):
        if i >= OUTSTANDING:
            # Message ids are 16 bits: a backlog larger than that waits as it goes, or a new
            # message would take the id of one still unacknowledged (paho: ERR_QUEUE_SIZE).
            infos[i - OUTSTANDING].wait_for_publish(timeout=120)
        infos.append(
            client.publish(
                f"village/bench/{device_name(i % devices)}/telemetry",
                payload(i, start_ts + i // devices),
                qos=1,
            )
        )
    for info in infos:
        info.wait_for_publish(timeout=120)
    elapsed = time.perf_counter() - began
    client.disconnect()
    client.loop_stop()
    return count / elapsed


def consume(job: dict[str, Any], timeout: float = 900) -> dict[str, Any]:
    """Run one consumer in a fresh process; its JSON result."""
    done = subprocess.run(
        [sys.executable, str(CONSUMER), json.dumps(job)],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"the {job['consumer']} consumer failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


@dataclass
class Round:
    load: float
    rates: dict[str, float] = field(default_factory=dict)
    cpu_us: dict[str, float] = field(default_factory=dict)  # process CPU a message
    lost: dict[str, int] = field(default_factory=dict)
    extra: dict[str, int] = field(default_factory=dict)  # points stored more than once
    redelivered: dict[str, int] = field(default_factory=dict)
    rejected: dict[str, int] = field(default_factory=dict)


class Bench:
    def __init__(self, args: argparse.Namespace, port: int, backend: Backend) -> None:
        self.args = args
        self.port = port
        self.backend = backend
        self.stores = {v: backend.store_settings(v) for v in VARIANTS}

    def job(self, consumer: str, mode: str, **extra: Any) -> dict[str, Any]:
        job: dict[str, Any] = {
            "consumer": consumer,
            "mode": mode,
            "port": self.port,
            "client_id": f"bench-{consumer}",
            "messages": self.args.messages,
            "readings_per_message": len(SENSORS),
        }
        if consumer != "bare":
            job |= {"store": self.stores[consumer], "alerts": VARIANTS[consumer]}
        return job | extra

    def prepare(self, history_before_ms: int) -> None:
        for consumer in CONSUMERS:  # persistent sessions, so backlogs queue for each
            consume(self.job(consumer, "prepare"))
        if self.args.prefill:
            first = next(iter(VARIANTS))
            for variant in VARIANTS:
                if variant != first and self.backend.copy(first, variant):
                    continue  # a copy of the same history is quicker than writing it again
                took = prefill(
                    self.backend, variant, self.args.prefill, self.args.devices, history_before_ms
                )
                print(
                    f"prefilled {variant}: {self.args.prefill:,} points in {took:.1f} s",
                    flush=True,
                )

    def round(self, index: int, start_ts: int) -> Round:
        args = self.args
        done = Round(load=os.getloadavg()[0])
        publish_backlog(self.port, args.messages, args.devices, start_ts)
        end_ts = start_ts + args.messages // args.devices + 1
        order = CONSUMERS if index % 2 == 0 else CONSUMERS[::-1]
        for consumer in order:
            result = consume(self.job(consumer, "drain"))
            done.rates[consumer] = result["received"] / result["elapsed"]
            done.cpu_us[consumer] = result["cpu"] / max(result["received"], 1) * 1e6
            if consumer == "bare":
                continue
            expected = args.messages * len(SENSORS)
            stored = self.backend.count(consumer, args.devices, start_ts, end_ts)
            done.lost[consumer] = max(0, expected - stored)
            done.extra[consumer] = max(0, stored - expected)
            done.redelivered[consumer] = result["redelivered"]
            done.rejected[consumer] = result["rejected"]
        return done

    def latency(self) -> tuple[dict[str, Any], float]:
        """Publish at --rate to the bench's devices, whose series hold the rounds' points
        and any history, with (c) running; its result and the rate actually offered."""
        args = self.args
        total = int(args.rate * args.seconds)
        job = self.job("alerts", "latency", client_id="bench-latency", messages=total)
        job |= {"timeout": args.seconds + 120, "since_ms": int(time.time() * 1000)}
        process = subprocess.Popen(
            [sys.executable, str(CONSUMER), json.dumps(job)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert process.stdout is not None
        if process.stdout.readline().strip() != "ready":
            raise SystemExit(f"the latency consumer failed:\n{process.stderr.read()[-3000:]}")
        began_ms = time.time() * 1000
        offered, at_broker = publish_at_rate(self.port, args.rate, total, args.devices)
        out, err = process.communicate(timeout=args.seconds + 180)
        if process.returncode != 0:
            raise SystemExit(f"the latency consumer failed:\n{err[-3000:]}")
        result = json.loads(out.strip().splitlines()[-1])
        result["at_broker_s"] = at_broker
        result["committed_s"] = (result.get("last_ms", began_ms) - began_ms) / 1000
        return result, offered


def publish_at_rate(port: int, rate: float, total: int, devices: int) -> tuple[float, float]:
    """Publish `total` messages at `rate`; the rate offered, and when (s after the start) the
    broker had acknowledged them all: a publisher that falls behind shows there."""
    client = publisher(port, "bench-latency-publisher")
    began = time.perf_counter()
    infos = []
    for i in range(total):
        delay = began + i / rate - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        topic = f"village/bench/{device_name(i % devices)}/telemetry"
        infos.append(client.publish(topic, payload(i, int(time.time() * 1000)), qos=1))
    offered = total / (time.perf_counter() - began)
    for info in infos:  # a disconnect would drop what is still in flight
        info.wait_for_publish(timeout=120)
    at_broker = time.perf_counter() - began
    client.disconnect()
    client.loop_stop()
    return offered, at_broker


def main() -> None:
    args = parse_args()
    if find_mosquitto() is None:
        raise SystemExit("bench needs Mosquitto: apt-get install mosquitto")
    with tempfile.TemporaryDirectory() as tmp:
        broker = MosquittoProcess(Path(tmp) / "broker", "127.0.0.1", pick_free_port())
        broker.start()
        backend = None
        try:
            backend = start_backend(args.backend, Path(tmp) / "store")
            run(Bench(args, broker.port, backend))
        finally:
            if backend is not None:
                backend.stop()
            broker.stop()


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=20_000, help="backlog per round")
    parser.add_argument("--rounds", type=int, default=5, help="alternated rounds (≥ 1)")
    parser.add_argument("--devices", type=int, default=100, help="devices the backlog spreads over")
    parser.add_argument(
        "--prefill", type=int, default=0, help="points of history in each store before the run"
    )
    parser.add_argument("--backend", choices=sorted(BACKENDS), default="sqlite")
    parser.add_argument("--rate", type=float, default=5_000.0, help="latency phase, msg/s")
    parser.add_argument("--seconds", type=float, default=10.0, help="latency phase length")
    parser.add_argument(
        "--read-devices", type=int, default=10_000, help="fleet for the read figures (0: none)"
    )
    parser.add_argument(
        "--long-points",
        type=int,
        default=40_000_000,
        help="points stored for the 30-day series figures (0: none)",
    )
    args = parser.parse_args()
    if args.rounds < 1 or args.messages < 1 or args.devices < 1 or args.prefill < 0:
        parser.error("--rounds, --messages and --devices must be ≥ 1, --prefill ≥ 0")
    if args.read_devices < 0 or args.long_points < 0:
        parser.error("--read-devices and --long-points must be ≥ 0 (0 skips them)")
    if args.rate <= 0 or args.seconds < 0:
        parser.error("--rate must be > 0 and --seconds ≥ 0 (0 skips the latency phase)")
    # The backlog's timestamps stay unique per device only while they fit in a round's span.
    return args


def run(bench: Bench) -> None:
    args = bench.args
    span = args.messages // args.devices + 2
    start = int(time.time() * 1000) - 3_600_000
    print(header(args), flush=True)
    bench.prepare(history_before_ms=start)
    rounds = []
    for index in range(args.rounds):
        done = bench.round(index, start + index * span)
        rounds.append(done)
        print(round_line(index, done), flush=True)
    summary(rounds)
    latency = latency_goal(args.rate, 0.0, None)
    if args.seconds > 0:
        result, offered = bench.latency()
        print(latency_line(args, result, offered), flush=True)
        latency = latency_goal(args.rate, offered, result.get("p99"))
    throughput = Throughput(
        [r.rates["alerts"] / r.rates["bare"] for r in rounds],
        lost=sum(sum(r.lost.values()) for r in rounds),
        extra=sum(sum(r.extra.values()) for r in rounds),
    )
    goals = [*ingest_goals(args.backend, args.devices, args.prefill, throughput), latency]
    goals += read_goals(args.backend, read_figures(args))
    print(f"goals, this run (load now {load_text()}):")
    print("\n".join(report(goals)))


def read_figures(args: argparse.Namespace) -> dict[str, float]:
    """The fleet reads and the 30-day series, from bench/store.py run beside this one."""
    parts = [READ_PARTS[args.backend]] if args.read_devices else []
    parts += ["long"] if args.long_points else []
    if not parts:
        return {}
    with tempfile.TemporaryDirectory() as scratch:
        figures = Path(scratch) / "figures.json"
        command = [sys.executable, str(STORE_BENCH), "--parts", ",".join(parts)]
        command += ["--long-points", str(args.long_points)]
        command += ["--devices", str(args.read_devices)] if args.read_devices else []
        done = subprocess.run([*command, "--figures", str(figures)], check=False)
        if done.returncode != 0:
            raise SystemExit(f"bench/store.py failed (exit code {done.returncode})")
        return json.loads(figures.read_text(encoding="utf-8"))


def header(args: argparse.Namespace) -> str:
    return (
        f"backlog: {args.messages:,} messages × {len(SENSORS)} readings a round, "
        f"{args.devices:,} devices, {args.rounds} rounds, store {args.backend}, "
        f"prefill {args.prefill:,} points; {reads_text(args)}; load {load_text()}"
    )


def reads_text(args: argparse.Namespace) -> str:
    fleet = f"reads with {args.read_devices:,} devices" if args.read_devices else "no fleet reads"
    if not args.long_points:
        return f"{fleet}, no 30-day series"
    return f"{fleet}, a 30-day series from {args.long_points:,} points"


def load_text() -> str:
    return "/".join(f"{x:.2f}" for x in os.getloadavg())


def round_line(index: int, r: Round) -> str:
    bare = r.rates["bare"]
    parts = [f"round {index + 1} (load {r.load:.2f}): bare {bare:,.0f} msg/s"]
    for variant in VARIANTS:
        parts.append(
            f"{variant} {r.rates[variant]:,.0f} ({r.rates[variant] / bare:.2f}×) "
            f"lost {r.lost[variant]} extra {r.extra[variant]} "
            f"redelivered {r.redelivered[variant]} rejected {r.rejected[variant]}"
        )
    return "; ".join(parts)


def summary(rounds: list[Round]) -> None:
    bare = statistics.median(r.rates["bare"] for r in rounds)
    bare_cpu = statistics.median(r.cpu_us["bare"] for r in rounds)
    print(f"median over {len(rounds)} rounds (load now {load_text()}):")
    print(f"  (a) bare paho + JSON          {bare:9,.0f} msg/s  {bare_cpu:5.1f} µs CPU a message")
    for variant in VARIANTS:
        ratios = [r.rates[variant] / r.rates["bare"] for r in rounds]
        rate = statistics.median(r.rates[variant] for r in rounds)
        lost = sum(r.lost[variant] for r in rounds)
        extra = sum(r.extra[variant] for r in rounds)
        cpu = statistics.median(r.cpu_us[variant] for r in rounds)
        print(
            f"  ingest, {variant:<10}          {rate:9,.0f} msg/s  {cpu:5.1f} µs CPU a message  "
            f"median {statistics.median(ratios):.2f}× of (a) "
            f"(range {min(ratios):.2f}–{max(ratios):.2f}); lost {lost}, stored twice {extra}"
        )


def latency_line(args: argparse.Namespace, result: dict[str, Any], offered: float) -> str:
    if not result.get("n"):
        return "latency: no message was committed"
    return (
        f"latency at {offered:,.0f} msg/s offered ({args.rate:,.0f} asked) for "
        f"{args.seconds:.0f} s, {result['n']:,} messages, publish → committed, alerts on "
        f"(load {load_text()}):\n"
        f"  p50 {result['p50']:6.1f} ms   p99 {result['p99']:6.1f} ms   "
        f"max {result['max']:6.1f} ms\n"
        f"  the broker had acknowledged every publish {result['at_broker_s']:.1f} s after the "
        f"start, the ingest committed the last {result['committed_s']:.1f} s after it"
    )


if __name__ == "__main__":
    main()
