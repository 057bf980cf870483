"""Click-to-done latency of a command, through a real Mosquitto.

A private Mosquitto, the service, and one simulated street lamp that always obeys; N
commands are posted to the API one after another, each waited for until `done` (the lamp's
own answer, committed by ingest). The time from the POST to the first read that shows `done`
is what a person at the dashboard waits. The machine's load is printed with the figures.

Run:  .venv/bin/python bench/control.py --help
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from fastapi.testclient import TestClient

from village_brain.api.app import create_app
from village_brain.auth.roles import Role
from village_brain.broker.mosquitto import MosquittoProcess, find_mosquitto
from village_brain.broker.ports import pick_free_port
from village_brain.core.config import load_settings
from village_brain.service import Service
from village_brain.simulator.layout import SimDevice
from village_brain.simulator.obey import Temper
from village_brain.simulator.runner import Simulator

LAMP = SimDevice("lamp-bench", "xiashan", "street_lamp", 30.61, 119.60, "村口", ("lamp_state",))
POLL_S = 0.005


def wait(predicate, timeout_s: float, what: str):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(POLL_S)
    raise SystemExit(f"gave up waiting for {what}")


def measure(api: TestClient, count: int) -> list[float]:
    took = []
    for n in range(count):
        started = time.perf_counter()
        body = {"target": "lamp_state", "value": "on" if n % 2 else "off"}
        sent = api.post("/api/v1/devices/lamp-bench/commands", json=body).json()
        path = f"/api/v1/commands/{sent['id']}"
        wait(lambda: api.get(path).json()["state"] == "done", 30, "done")  # noqa: B023
        took.append((time.perf_counter() - started) * 1000)
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=200, help="commands to send (default 200)")
    args = parser.parse_args()
    if find_mosquitto() is None:
        raise SystemExit("bench needs Mosquitto: apt-get install mosquitto")
    with tempfile.TemporaryDirectory() as tmp:
        broker = MosquittoProcess(Path(tmp) / "broker", "127.0.0.1", pick_free_port())
        broker.start()
        settings = load_settings(
            mqtt={"url": broker.url, "client_id": "bench-control"},
            store={"data_dir": Path(tmp) / "data"},
            alerts={"enabled": False},
        )
        service = Service(settings, broker.url)
        service.auth = service.auth.letting_anyone(Role.OPERATOR)
        service.start()
        service.register_devices([LAMP.registry_entry()])
        lamp = Simulator(broker.url, [LAMP], rate=1.0, temper=Temper(fail=0, silent=0))
        lamp.start()
        try:
            wait(service.receiver.connected.is_set, 30, "ingest to connect")
            api = TestClient(create_app(service.api_context()))
            measure(api, 5)  # warm up: connections, first commits
            took = measure(api, args.n)
        finally:
            lamp.stop()
            service.stop()
            broker.stop()
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    p99 = statistics.quantiles(took, n=100)[98]
    print(
        f"click-to-done over {len(took)} commands: p50 {statistics.median(took):.1f} ms, "
        f"p99 {p99:.1f} ms, max {max(took):.1f} ms (load average {load}, "
        f"{os.cpu_count()} cores)"
    )


if __name__ == "__main__":
    main()
