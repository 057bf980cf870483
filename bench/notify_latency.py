"""Notification latency: from a committed reading to the robot's POST.

The ingest writer hands each committed batch to the alert engine; this bench does the same
with one danger-level reading at a time, at a steady pace, and a local DingTalk-shaped robot
and a Standard Webhooks receiver note when each message arrives. The robot's rate limit is
lifted so that the figure is the pipeline's own (under DingTalk's 20 a minute, a burst waits
for the minute by design). Run:  .venv/bin/python bench/notify_latency.py --help
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from village_brain.alerts.engine import AlertEngine
from village_brain.alerts.records import Webhook
from village_brain.alerts.signing import new_secret
from village_brain.core.bus import Bus
from village_brain.core.catalog import default_catalog
from village_brain.core.config import AlertSettings
from village_brain.core.records import Reading
from village_brain.core.timefmt import now_ms
from village_brain.store.registry import BatchRecord, RegistryStore

RULES = """
[[rule]]
id = "river_danger"
name = "河道水位超危险线"
severity = "critical"
kind = "threshold"
sensor = "water_level"
above = 3.2
clear_below = 3.1
"""


class Arrivals:
    """A local receiver that notes when each alert's message arrives (by alert id)."""

    def __init__(self) -> None:
        self.at: dict[int, float] = {}
        self.lock = threading.Lock()
        arrivals = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                now = time.perf_counter()
                self.rfile.read(int(self.headers.get("content-length", "0")))
                keys = self.headers.get("x-village-brain-delivery") or self.headers["webhook-id"]
                with arrivals.lock:
                    for key in keys.split():
                        alert_id = int(key.split("_")[1].removeprefix("alert"))
                        arrivals.at.setdefault(alert_id, now)
                reply = b'{"errcode": 0, "errmsg": "ok"}'
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def run(count: int, pace_s: float, data: Path) -> dict[str, list[float]]:
    rules = data / "rules.toml"
    rules.write_text(RULES, "utf-8")
    settings = AlertSettings(
        rules_file=rules,
        allow_private_targets=True,
        notify={"rate_per_minute": {"dingtalk": 1_000_000}},
    )
    registry = RegistryStore(data / "registry.sqlite3")
    engine = AlertEngine(settings, default_catalog(), registry, Bus(), data / "alerts.sqlite3")
    robot, web = Arrivals(), Arrivals()
    engine.add_webhook(Webhook("wh_robot", robot.url, "dingtalk", "", now_ms()))
    engine.add_webhook(Webhook("wh_web", web.url, "standard", new_secret(), now_ms()))
    engine.start()
    committed: dict[str, float] = {}
    try:
        for n in range(count):
            device = f"gauge-{n}"
            committed[device] = time.perf_counter()
            engine.on_batch([Reading("xs", device, "water_level", now_ms(), 3.5)], BatchRecord())
            time.sleep(pace_s)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and min(len(robot.at), len(web.at)) < count:
            time.sleep(0.05)
        device_of = {a.id: a.device for a in engine.store.alerts(limit=count * 2)}
    finally:
        engine.stop()
    return {
        name: [(at - committed[device_of[i]]) * 1000 for i, at in got.at.items()]
        for name, got in (("dingtalk robot", robot), ("standard webhook", web))
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=500, help="readings (alerts) to send")
    parser.add_argument("--pace", type=float, default=0.02, help="seconds between readings")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        figures = run(args.count, args.pace, Path(tmp))
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"notification latency, committed reading to POST, {args.count} alerts, load {load}")
    for name, ms in figures.items():
        cuts = statistics.quantiles(ms, n=100)
        print(f"  {name:17} n={len(ms):4}  p50 {cuts[49]:6.1f} ms  p99 {cuts[98]:6.1f} ms")
    print(json.dumps({k: len(v) for k, v in figures.items()}))


if __name__ == "__main__":
    main()
