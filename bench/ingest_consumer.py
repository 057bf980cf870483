"""One consumer of `bench/ingest.py`, run in a fresh process per round and told what to do by
one JSON argument; it prints one JSON line of results.

Modes: `bare` (stock paho, QoS 1, JSON decode only: the baseline), `full` (the whole ingest
in a `Service`), `latency` (a `Service` that reports publish → committed times), and
`prepare` (create the persistent session and subscriptions, then leave).
"""

from __future__ import annotations

import json
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from village_brain.core.config import load_settings
from village_brain.service import Service

try:
    from village_brain.core.memory import hold_mmap_threshold
except ImportError:  # an older checkout, measured for a before/after comparison

    def hold_mmap_threshold() -> bool:
        return False


BARE_TOPICS = "village/+/+/telemetry"
NO_PROGRESS_S = 20.0  # give up waiting (and report what arrived) after this long idle


def bare_client(client_id: str) -> mqtt.Client:
    return mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)


def connect_persistent(client: mqtt.Client, port: int) -> None:
    props = Properties(PacketTypes.CONNECT)
    props.SessionExpiryInterval = 3600
    props.ReceiveMaximum = 1000
    client.connect("127.0.0.1", port, clean_start=False, properties=props)


def run_bare(job: dict[str, Any]) -> dict[str, Any]:
    """Drain the backlog with stock paho, decoding the JSON only."""
    count = job["messages"]
    received = 0
    done = threading.Event()

    def on_message(_c: mqtt.Client, _u: object, msg: mqtt.MQTTMessage) -> None:
        nonlocal received
        json.loads(msg.payload)
        received += 1
        if received == count:
            done.set()

    client = bare_client(job["client_id"])
    client.on_message = on_message
    if job["mode"] == "prepare":
        connect_persistent(client, job["port"])
        client.subscribe(BARE_TOPICS, qos=1)
        client.loop(timeout=1.0)
        client.disconnect()
        return {}
    cpu, began = time.process_time(), time.perf_counter()
    connect_persistent(client, job["port"])
    client.loop_start()
    last = -1
    while not done.wait(timeout=NO_PROGRESS_S) and received != last:
        last = received
    elapsed, cpu = time.perf_counter() - began, time.process_time() - cpu
    client.disconnect()
    client.loop_stop()
    return {"elapsed": elapsed, "cpu": cpu, "received": received}


def make_service(job: dict[str, Any]) -> Service:
    url = f"mqtt://127.0.0.1:{job['port']}"
    store = dict(job["store"])
    store["data_dir"] = Path(store["data_dir"])
    settings = load_settings(
        mqtt={"url": url, "client_id": job["client_id"]},
        store=store,
        alerts={"enabled": job["alerts"]},
        # The bench's devices report far faster than real ones: the flood guard still counts
        # every reading, but never throttles one.
        ingest={"flood_min_readings": 1_000_000_000},
    )
    return Service(settings, url)


def wait_for(predicate: Any, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.002)


def run_full(job: dict[str, Any]) -> dict[str, Any]:
    service = make_service(job)
    if job["mode"] == "prepare":
        service.start()
        wait_for(service.receiver.subscriptions_settled, "ingest to subscribe")
        service.stop()
        return {}
    expected = job["messages"] * job["readings_per_message"]
    stats = service.stats
    drained = threading.Event()

    def on_commit(_readings: Any, _record: Any) -> None:
        # In the writer thread, right after the commit: no polling thread competes for the
        # interpreter lock while the consumer is timed.
        if stats.stored + stats.duplicates >= expected:
            drained.set()

    service.writer.listeners.append(on_commit)
    cpu, began = time.process_time(), time.perf_counter()
    service.start()
    last = -1
    while not drained.wait(timeout=NO_PROGRESS_S) and stats.stored != last:
        last = stats.stored  # report what arrived if it stops: the parent counts the loss
    if service.alerts is not None:  # done when the last batch is evaluated too
        wait_for(lambda: service.alerts.evaluating() == 0, "alert evaluation", NO_PROGRESS_S)
    elapsed, cpu = time.perf_counter() - began, time.process_time() - cpu
    snap = service.snapshot()
    service.stop()
    return {
        "elapsed": elapsed,
        "cpu": cpu,
        "received": snap.messages_received,
        "stored": snap.readings_stored,
        "redelivered": snap.readings_duplicate,
        "rejected": snap.rejected_total,
    }


def run_latency(job: dict[str, Any]) -> dict[str, Any]:
    """Report publish → committed for the phase's readings: the payload's timestamp is the
    publisher's clock at publish, the listener runs right after the commit."""
    service = make_service(job)
    latencies: list[float] = []
    total, since = job["messages"], job["since_ms"]  # only this phase's messages count
    last_ms = 0.0
    done = threading.Event()

    def on_commit(readings: Any, _record: Any) -> None:
        nonlocal last_ms
        now = last_ms = time.time() * 1000
        latencies.extend(
            now - r.ts_ms for r in readings if r.sensor == "water_level" and r.ts_ms >= since
        )
        if len(latencies) >= total:
            done.set()

    service.writer.listeners.append(on_commit)
    service.start()
    wait_for(service.receiver.subscriptions_settled, "ingest to subscribe")
    print("ready", flush=True)
    done.wait(timeout=job["timeout"])
    service.stop()
    if not latencies:
        return {"n": 0}
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    return {
        "n": len(latencies),
        "p50": cuts[49],
        "p99": cuts[98],
        "max": max(latencies),
        "last_ms": last_ms,
    }


def main() -> None:
    job = json.loads(sys.argv[1])
    if job["consumer"] == "bare":
        result = run_bare(job)
    elif job["mode"] == "latency":
        hold_mmap_threshold()  # as `serve` does at its start
        result = run_latency(job)
    else:
        hold_mmap_threshold()
        result = run_full(job)
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
