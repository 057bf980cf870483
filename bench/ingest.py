"""Ingest throughput and latency through a real Mosquitto.

Publishes N telemetry messages at QoS 1 to a private Mosquitto and measures, in one run:
  (a) a bare paho subscriber that only decodes the JSON (the ceiling for any Python consumer),
  (b) the full Village Brain ingest: decode, validate, store in SQLite, acknowledge after commit;
then, with the ingest running, p50/p99 publish-to-stored latency at a fixed offered rate.

Both consumers drain the same queued backlog from a persistent session, so the figure is the
consumer's rate, not the publisher's. Run:  .venv/bin/python bench/ingest.py --help
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from contextlib import ExitStack
from functools import partial
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from village_brain.broker.mosquitto import MosquittoProcess, find_mosquitto
from village_brain.broker.ports import pick_free_port
from village_brain.core.config import load_settings
from village_brain.service import Service

DEVICES = 100
SENSORS = ("water_level", "battery_voltage", "rssi", "air_temperature")


def payload(i: int, ts_ms: int) -> bytes:
    values = {
        "water_level": 1.0 + (i % 100) / 100,
        "battery_voltage": 3.7,
        "rssi": -80 - i % 20,
        "air_temperature": 12.5,
    }
    return json.dumps(
        {"ts": ts_ms, "values": dict(zip(SENSORS, values.values(), strict=True))}
    ).encode()


def topic(i: int) -> str:
    return f"village/bench/dev-{i % DEVICES:03d}/telemetry"


def mqtt5_client(client_id: str, manual_ack: bool = False) -> mqtt.Client:
    return mqtt.Client(
        mqtt.CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=mqtt.MQTTv5,
        manual_ack=manual_ack,
    )


def connect_persistent(client: mqtt.Client, port: int) -> None:
    props = Properties(PacketTypes.CONNECT)
    props.SessionExpiryInterval = 3600
    props.ReceiveMaximum = 1000
    client.connect("127.0.0.1", port, clean_start=False, properties=props)


def publish_backlog(port: int, count: int, start_ts: int) -> float:
    client = mqtt5_client("bench-publisher")
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)
    client.connect("127.0.0.1", port)
    client.loop_start()
    began = time.perf_counter()
    infos = [
        client.publish(topic(i), payload(i, start_ts + i // DEVICES), qos=1) for i in range(count)
    ]
    for info in infos:
        info.wait_for_publish(timeout=60)
    elapsed = time.perf_counter() - began
    client.disconnect()
    client.loop_stop()
    return count / elapsed


def prepare_bare_session(port: int) -> None:
    client = mqtt5_client("bench-bare")
    connect_persistent(client, port)
    client.subscribe("village/+/+/telemetry", qos=1)
    client.loop(timeout=1.0)
    client.disconnect()


def run_bare(port: int, count: int) -> float:
    """Drain the backlog with paho, decoding JSON only; messages per second."""
    received = 0
    done = threading.Event()

    def on_message(_c: mqtt.Client, _u: object, msg: mqtt.MQTTMessage) -> None:
        nonlocal received
        json.loads(msg.payload)
        received += 1
        if received == count:
            done.set()

    client = mqtt5_client("bench-bare")
    client.on_message = on_message
    began = time.perf_counter()
    connect_persistent(client, port)
    client.loop_start()
    if not done.wait(timeout=300):
        raise SystemExit(f"bare subscriber got {received} of {count} messages")
    elapsed = time.perf_counter() - began
    client.disconnect()
    client.loop_stop()
    return count / elapsed


def make_service(port: int, store: dict[str, Any], variant: str) -> Service:
    url = f"mqtt://127.0.0.1:{port}"
    settings = load_settings(
        mqtt={"url": url, "client_id": f"bench-ingest-{variant}"},
        store={**store, "data_dir": store["data_dir"] / variant},
        alerts={"enabled": VARIANTS[variant]},
    )
    return Service(settings, url)


# The full ingest runs twice on the same backlog: without and with the shipped alert rules,
# so the cost of rule evaluation shows as the difference between two figures of one run.
VARIANTS = {"no-alerts": False, "alerts": True}


def wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.005)


def run_pipeline(service: Service, count: int) -> float:
    expected = count * len(SENSORS)
    began = time.perf_counter()
    service.start()
    wait_for(lambda: service.stats.stored >= expected, 300, "the pipeline to store the backlog")
    return count / (time.perf_counter() - began)


def measure_latency(service: Service, port: int, rate: float, seconds: float) -> list[float]:
    """Publish at a fixed rate; latency = commit time − publish time of each message."""
    latencies: list[float] = []

    phase_start_ms = int(time.time() * 1000)  # payload times are whole ms, floored too

    def on_commit(readings, _record) -> None:
        now = time.time() * 1000
        # The backlog's last batch may still reach listeners: count only this phase's messages.
        latencies.extend(
            now - r.ts_ms
            for r in readings
            if r.sensor == "water_level" and r.ts_ms >= phase_start_ms
        )

    service.writer.listeners.append(on_commit)
    client = mqtt5_client("bench-latency-publisher")
    client.max_inflight_messages_set(1000)
    client.connect("127.0.0.1", port)
    client.loop_start()
    total = int(rate * seconds)
    began = time.perf_counter()
    for i in range(total):
        target = began + i / rate
        delay = target - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        client.publish(topic(i), payload(i, int(time.time() * 1000)), qos=1)
    wait_for(lambda: len(latencies) >= total, 60, "latency messages to be stored")
    client.disconnect()
    client.loop_stop()
    return latencies


def percentile(values: list[float], q: float) -> float:
    return (
        statistics.quantiles(values, n=100, method="inclusive")[q - 1]
        if len(values) > 1
        else values[0]
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=20_000, help="backlog size (messages)")
    parser.add_argument(
        "--rate", type=float, default=500.0, help="offered rate for latency (msg/s)"
    )
    parser.add_argument("--seconds", type=float, default=10.0, help="latency phase length")
    parser.add_argument(
        "--store",
        choices=["sqlite", "influxdb"],
        default="sqlite",
        help="influxdb starts a private InfluxDB 1.x (Debian's influxdb package) for the run",
    )
    args = parser.parse_args()
    if find_mosquitto() is None:
        raise SystemExit("bench needs Mosquitto: apt-get install mosquitto")

    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        broker = MosquittoProcess(Path(tmp) / "broker", "127.0.0.1", pick_free_port())
        broker.start()
        stack.callback(broker.stop)
        store: dict[str, Any] = {"data_dir": Path(tmp) / "data"}
        count_stored = None
        if args.store == "influxdb":
            influx = start_private_influx(Path(tmp) / "influxdb")
            stack.callback(influx.stop)
            store |= {"backend": "influxdb", "influxdb": influx_settings(influx)}
            count_stored = partial(influx_points, influx)
        run(broker.port, store, args, count_stored)


def start_private_influx(state_dir: Path) -> Any:
    # The same private-server helper the store tests use; it installs influxdb when missing.
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from support.influx import start_influx

    return start_influx(state_dir)


def influx_settings(influx: Any) -> dict[str, Any]:
    influx.create_database("bench")
    return {"url": influx.url, "database": "bench", "write_api": "v1"}


def influx_points(influx: Any) -> int:
    series = influx.query('SELECT count("value") FROM "reading"', database="bench")
    return int(series[0]["values"][0][1]) if series else 0


def run(
    port: int,
    store: dict[str, Any],
    args: argparse.Namespace,
    count_stored: Callable[[], int] | None,
) -> None:
    count = args.messages
    prepare_bare_session(port)
    for variant in VARIANTS:  # create each ingest's persistent session and subscriptions
        service = make_service(port, store, variant)
        service.start()
        wait_for(service.receiver.connected.is_set, 10, "ingest to subscribe")
        service.stop()

    start_ts = int(time.time() * 1000) - 3_600_000
    publish_rate = publish_backlog(port, count, start_ts)
    bare = run_bare(port, count)
    rates, lost, rejected = {}, 0, 0
    for variant in VARIANTS:
        service = make_service(port, store, variant)
        rates[variant] = run_pipeline(service, count)
        snap = service.snapshot()
        lost += count * len(SENSORS) - snap.readings_stored
        rejected += snap.rejected_total
        if variant != "alerts":
            service.stop()
    latencies = measure_latency(service, port, args.rate, args.seconds)
    service.stop()
    if count_stored:  # InfluxDB counts what it holds, whatever write() reported
        lost = 2 * count * len(SENSORS) + len(latencies) * len(SENSORS) - count_stored()
    report(args, count, publish_rate, bare, rates, lost, rejected, latencies)


def report(
    args: argparse.Namespace,
    count: int,
    publish_rate: float,
    bare: float,
    rates: dict[str, float],
    lost: int,
    rejected: int,
    latencies: list[float],
) -> None:
    n = len(SENSORS)
    print(f"backlog: {count:,} messages × {n} readings, QoS 1, one private Mosquitto")
    print(f"  publisher                          {publish_rate:9,.0f} msg/s")
    print(f"  (a) bare paho + JSON decode        {bare:9,.0f} msg/s {bare * n:9,.0f} readings/s")
    for variant, rate in rates.items():
        label = f"(b) ingest to {args.store}, {variant}"
        print(
            f"  {label:<34} {rate:9,.0f} msg/s {rate * n:9,.0f} readings/s "
            f"{rate / bare:5.0%} of (a)"
        )
    cost_us = (1 / rates["alerts"] - 1 / rates["no-alerts"]) * 1e6
    print(f"  alert rules: {cost_us:+.1f} µs a message ({cost_us / n:+.1f} µs a reading)")
    print(f"  lost readings: {lost}, rejected: {rejected}")
    print(
        f"latency at {args.rate:,.0f} msg/s offered for {args.seconds:.0f} s "
        f"({len(latencies):,} messages), publish → committed, alerts on:"
    )
    print(
        f"  p50 {percentile(latencies, 50):6.1f} ms   p99 {percentile(latencies, 99):6.1f} ms   "
        f"max {max(latencies):6.1f} ms"
    )


if __name__ == "__main__":
    main()
