"""Nothing acknowledged is lost: not when ingest crashes or restarts, nor when the broker does."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from village_brain.core.timefmt import now_ms

from harness import Publisher
from support.waiting import wait_until

pytestmark = pytest.mark.integration

TOPIC = "village/xiashan/{}/telemetry"


def stored_points(data_dir: Path) -> int:
    path = data_dir / "series.sqlite3"
    if not path.exists():
        return 0
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT count(*) FROM points").fetchone()[0]


def publish_numbered(publisher: Publisher, device: str, count: int, start_ts: int) -> None:
    for i in range(count):
        payload = json.dumps({"ts": start_ts + i, "values": {"water_level": i / 1000}})
        publisher.publish(TOPIC.format(device), payload)


def test_readings_published_while_ingest_is_down_arrive_when_it_returns(
    start_service, publisher, tmp_path
):
    first = start_service(client_id="ingest-away")
    first.service.stop()
    publish_numbered(publisher, "away", 200, now_ms() - 10_000)
    again = start_service(client_id="ingest-away")
    wait_until(lambda: again.service.stats.stored == 200, what="the queued readings")


def test_a_broker_restart_loses_nothing_and_ingest_resubscribes(
    restartable_mosquitto, start_service, tmp_path
):
    running = start_service(url=restartable_mosquitto.url)
    start = now_ms() - 10_000
    publisher = Publisher(restartable_mosquitto.url)
    publish_numbered(publisher, "r1", 100, start)
    publisher.close()
    restartable_mosquitto.restart()
    wait_until(running.service.receiver.connected.is_set, what="ingest to reconnect")
    publisher = Publisher(restartable_mosquitto.url)
    publish_numbered(publisher, "r1", 100, start + 100)
    publisher.close()
    wait_until(lambda: stored_points(tmp_path / "data") == 200, timeout=20, what="all readings")


def _serve(mqtt_url: str, data_dir: Path, log: Path) -> subprocess.Popen:
    env = {**os.environ, "VILLAGE_BRAIN_MQTT__CLIENT_ID": "ingest-crash-test"}
    command = [
        sys.executable,
        "-m",
        "village_brain.cli",
        "serve",
        "--mqtt-url",
        mqtt_url,
        "--data-dir",
        str(data_dir),
        "--http",
        "127.0.0.1:0",  # a port the system picks as serve binds it: none to race for
    ]
    return subprocess.Popen(command, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT)


def test_killing_ingest_mid_stream_loses_no_acknowledged_reading(mosquitto, tmp_path):
    data_dir, log = tmp_path / "data", tmp_path / "serve.log"
    total, start = 3000, now_ms() - 60_000
    server = _serve(mosquitto.url, data_dir, log)
    publisher = Publisher(mosquitto.url)
    feeder = threading.Thread(target=publish_numbered, args=(publisher, "crash", total, start))
    try:
        wait_until(lambda: b"receiving" in log.read_bytes(), what="serve to subscribe")
        feeder.start()
        wait_until(lambda: stored_points(data_dir) >= 500, timeout=30, what="some readings")
        server.send_signal(signal.SIGKILL)
        server.wait()
        killed_at = stored_points(data_dir)
        server = _serve(mosquitto.url, data_dir, log)
        feeder.join(timeout=60)
        wait_until(lambda: stored_points(data_dir) == total, timeout=60, what="every reading")
    finally:
        server.kill()
        publisher.close()
    assert killed_at < total, "the kill came too late to test anything"
