"""`serve --role ingest` and `serve --role api` as separate processes sharing PostgreSQL
and InfluxDB: what the worker commits is the API process's device presence, and reaches the
API process's live feed within a second."""

from __future__ import annotations

import json
import queue
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from integration.harness import Publisher

from support.influx import InfluxServer, ServerUnavailable, start_influx
from support.serve_process import ServeProcess, logged_url
from support.waiting import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.cluster]

DEVICE = "role-gauge"


class RoleProcess(ServeProcess):
    """serve with a role; an API process receives nothing, so it is ready once it answers."""

    def __init__(self, role: str, shared: dict[str, str], mqtt_url: str, root: Path) -> None:
        super().__init__(mqtt_url, root / role, root / f"{role}.log", client_id=f"vb-{role}")
        self.role = role
        self.env.update(shared)

    def command(self, *extra: str) -> list[str]:
        return super().command("--role", self.role, *extra)

    def _ready(self) -> bool:
        if self.role != "api":
            return super()._ready()
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(f"serve exited with {self.process.returncode}:\n{self.log_text()}")
        self.url = logged_url(self.log.read_bytes()[self._logged_before :]) or ""
        return bool(self.url) and _answers(self.url)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except TimeoutError:
                self.kill()


def _answers(url: str) -> bool:
    try:
        return httpx.get(url + "/healthz", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


@pytest.fixture(scope="module")
def influx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InfluxServer]:
    try:
        server = start_influx(tmp_path_factory.mktemp("influxdb"))
    except ServerUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)
    yield server
    server.stop()


@pytest.fixture
def processes(mosquitto, influx, postgres_dsn, tmp_path) -> Iterator[tuple[RoleProcess, ...]]:
    shared = {
        "VILLAGE_BRAIN_CLUSTER__POSTGRES_DSN": postgres_dsn,
        "VILLAGE_BRAIN_STORE__BACKEND": "influxdb",
        "VILLAGE_BRAIN_STORE__INFLUXDB__URL": influx.url,
        "VILLAGE_BRAIN_STORE__INFLUXDB__DATABASE": influx.create_database(f"roles_{tmp_path.name}"),
        "VILLAGE_BRAIN_STORE__INFLUXDB__WRITE_API": "v1",
    }
    started: list[RoleProcess] = []
    try:
        for role in ("ingest", "api"):
            process = RoleProcess(role, shared, mosquitto.url, tmp_path)
            process.start()
            started.append(process)
        yield tuple(started)
    finally:
        for process in started:
            process.stop()


class LiveFeed:
    """The dashboard's live feed, read in a thread: (arrival time, event, data) per frame."""

    def __init__(self, url: str) -> None:
        self.frames: queue.Queue[tuple[float, str, dict]] = queue.Queue()
        self.opened = threading.Event()
        threading.Thread(target=self._read, args=(url,), daemon=True).start()

    def _read(self, url: str) -> None:
        event = ""
        with httpx.stream("GET", url + "/api/v1/live", timeout=None) as stream:
            for line in stream.iter_lines():
                self.opened.set()
                if line.startswith("event: "):
                    event = line.removeprefix("event: ")
                elif line.startswith("data: "):
                    self.frames.put((time.monotonic(), event, json.loads(line[6:])))

    def first(self, wanted, timeout: float) -> float:
        """When the first frame `wanted(event, data)` accepts arrived."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                at, event, data = self.frames.get(timeout=left)
            except queue.Empty:
                break
            if wanted(event, data):
                return at
        raise AssertionError(f"no such frame on the live feed within {timeout} s")


def is_our_reading(event: str, data: dict) -> bool:
    return event == "readings" and any(r["device"] == DEVICE for r in data["readings"])


def is_our_status(event: str, data: dict) -> bool:
    return event == "status" and data == {**data, "device": DEVICE, "status": "online"}


def test_a_worker_s_commits_reach_the_api_process_s_live_feed_within_a_second(processes, mosquitto):
    _, api = processes
    feed = LiveFeed(api.url)
    assert feed.opened.wait(10), "the live feed did not open"
    publisher = Publisher(mosquitto.url)
    try:
        sent = time.monotonic()
        payload = json.dumps({"ts": int(time.time() * 1000), "values": {"water_level": 1.25}})
        publisher.publish(f"village/xiashan/{DEVICE}/telemetry", payload)
        assert feed.first(is_our_reading, timeout=5) - sent < 1.0
        sent = time.monotonic()
        publisher.publish(f"village/xiashan/{DEVICE}/status", "online", retain=True)
        assert feed.first(is_our_status, timeout=5) - sent < 1.0
    finally:
        publisher.publish(f"village/xiashan/{DEVICE}/status", "", retain=True)
        publisher.close()


def test_the_api_process_shows_the_presence_and_readings_the_worker_stored(processes, mosquitto):
    worker, api = processes
    publisher = Publisher(mosquitto.url)
    try:
        payload = json.dumps({"ts": int(time.time() * 1000), "values": {"water_level": 1.5}})
        publisher.publish(f"village/xiashan/{DEVICE}-2/telemetry", payload)
    finally:
        publisher.close()

    def seen() -> bool:
        answer = httpx.get(api.url + f"/api/v1/devices/{DEVICE}-2", timeout=5)
        return answer.status_code == 200 and answer.json()["last_seen"] is not None

    wait_until(seen, timeout=10, what="the API process to show the device as seen")
    latest = httpx.get(api.url + f"/api/v1/devices/{DEVICE}-2/latest", timeout=5).json()
    assert [(r["sensor"], r["value"]) for r in latest["readings"]] == [("water_level", 1.5)]
    # The worker answers only its health.
    assert httpx.get(worker.url + "/api/v1/devices", timeout=5).status_code == 404
