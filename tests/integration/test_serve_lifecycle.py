"""How `village-brain serve` starts and stops, seen from outside as an operator sees it.

`systemctl stop` (SIGTERM) and Ctrl-C (SIGINT) stop it in order, open dashboards or not: live
feeds ended, ingest drained and acknowledged, the broker connection closed, the stores closed,
exit status 0, all within seconds.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from village_brain.core.timefmt import now_ms

from harness import Publisher
from support.serve_process import ServeProcess, stored_points
from support.waiting import wait_until

pytestmark = pytest.mark.integration

FEEDS = 10
STOPS_WITHIN_S = 10.0
CLEAN_STOP = ("ingest drained", "disconnected from broker", "stores closed", "stopped cleanly")


class LiveFeed:
    """A dashboard tab: reads the live feed in a thread until the server ends it."""

    def __init__(self, url: str) -> None:
        self.opened = threading.Event()
        self.ended = threading.Event()
        self.ended_cleanly = False  # the server finished the response, not just dropped it
        self._thread = threading.Thread(target=self._read, args=(url,), daemon=True)
        self._thread.start()

    def _read(self, url: str) -> None:
        try:
            with httpx.stream("GET", url + "/api/v1/live", timeout=None) as stream:
                for _ in stream.iter_lines():
                    self.opened.set()
            self.ended_cleanly = True
        except httpx.TransportError:
            pass
        finally:
            self.ended.set()


@pytest.fixture
def serve(mosquitto, tmp_path: Path) -> Iterator[ServeProcess]:
    process = ServeProcess(
        mosquitto.url, tmp_path / "data", tmp_path / "serve.log", f"stop-{time.monotonic_ns()}"
    )
    yield process
    process.kill()


def stop(serve: ServeProcess, sig: signal.Signals) -> tuple[int, str]:
    """Sends `sig`; the exit status, and what serve logged meanwhile."""
    assert serve.process is not None
    logged_before = len(serve.log_text())
    serve.process.send_signal(sig)
    status = serve.process.wait(timeout=STOPS_WITHIN_S)
    return status, serve.log_text()[logged_before:]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_serve_stops_cleanly_within_seconds_with_ten_live_feeds_open(
    serve: ServeProcess, sig: signal.Signals
) -> None:
    serve.start()
    feeds = [LiveFeed(serve.url) for _ in range(FEEDS)]
    for feed in feeds:
        assert feed.opened.wait(10), "a live feed did not open"
    status, logged = stop(serve, sig)
    assert status == 0, logged
    assert [step for step in CLEAN_STOP if step not in logged] == [], logged
    assert all(feed.ended.wait(5) and feed.ended_cleanly for feed in feeds)


class Device:
    """Publishes numbered readings until stopped, each acked by the broker before the next."""

    def __init__(self, mqtt_url: str) -> None:
        self.published = 0
        self._publisher = Publisher(mqtt_url)
        self._start_ts = now_ms() - 60_000
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def stop(self) -> int:
        """Stops publishing; how many readings the broker acknowledged."""
        self._done.set()
        self._thread.join(timeout=30)
        self._publisher.close()
        return self.published

    def _run(self) -> None:
        # A short pause between messages keeps the load light; nothing waits on it.
        while not self._done.wait(0.001):
            payload = json.dumps({"ts": self._start_ts + self.published, "values": {"rssi": -80}})
            self._publisher.publish("village/xiashan/stop-gauge/telemetry", payload)
            self.published += 1


def test_readings_acknowledged_around_a_sigterm_are_all_stored_after_a_restart(
    serve: ServeProcess, mosquitto
) -> None:
    serve.start()
    device = Device(mosquitto.url)
    try:
        wait_until(lambda: stored_points(serve.data_dir) >= 300, timeout=30, what="some readings")
        # The device goes on publishing through the stop and while serve is away.
        status, logged = stop(serve, signal.SIGTERM)
        assert status == 0, logged
        stopped_at = stored_points(serve.data_dir)
        wait_until(lambda: device.published > stopped_at + 100, what="readings while serve is away")
        serve.start()
    finally:
        published = device.stop()
    wait_until(lambda: stored_points(serve.data_dir) == published, timeout=60, what="every reading")


def test_serve_on_a_taken_port_says_so_and_how_to_choose_another(mosquitto, tmp_path) -> None:
    env = {**os.environ, "VILLAGE_BRAIN_MQTT__CLIENT_ID": f"taken-{time.monotonic_ns()}"}
    with socket.socket() as occupant:
        occupant.bind(("127.0.0.1", 0))
        occupant.listen()
        port = occupant.getsockname()[1]
        result = subprocess.run(
            [
                *(sys.executable, "-m", "village_brain.cli", "serve"),
                *("--mqtt-url", mosquitto.url, "--data-dir", str(tmp_path / "data")),
                *("--http", f"127.0.0.1:{port}"),
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 2
    assert f"could not listen on 127.0.0.1:{port}" in result.stderr
    assert "--http HOST:PORT" in result.stderr
    assert "Traceback" not in result.stderr
