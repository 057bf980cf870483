"""Every device family's documented messages, on the family's own topics, through a real
Mosquitto: each comes out of the API as its fixture file's `expect` entries say, and the
answers the family waits for are published after the commit."""

from __future__ import annotations

import math
import threading
from collections import Counter
from typing import Any

import paho.mqtt.client as mqtt
import pytest

from harness import Publisher, RunningService, make_service
from support.adapter_fixtures import FIXTURES, load_fixture, message_payload
from support.waiting import wait_until

FAMILIES = sorted(path.stem for path in FIXTURES.glob("*.toml"))
FAR = "36500d"  # fixture samples keep their sources' times, years back


class Heard:
    """Everything published on the broker, as a device family would see its answers."""

    def __init__(self, url: str) -> None:
        host, port = url.removeprefix("mqtt://").split(":")
        self.messages: list[tuple[str, bytes]] = []
        self._lock = threading.Lock()
        self._client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        self._client.on_message = self._heard
        self._client.connect(host, int(port))
        self._client.subscribe("#", qos=1)
        self._client.loop_start()

    def _heard(self, _client: object, _userdata: object, msg: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.messages.append((msg.topic, msg.payload))

    def has(self, topic: str, payload: bytes) -> bool:
        with self._lock:
            return (topic, payload) in self.messages

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()


@pytest.fixture
def replay(restartable_mosquitto, tmp_path):
    started: list[tuple[Any, ...]] = []

    def start(family: str) -> tuple[RunningService, Publisher, Heard]:
        fixture = load_fixture(family)
        service = make_service(
            restartable_mosquitto.url,
            tmp_path / "data",
            f"ingest-{family}",
            ingest={
                "sources": [fixture["source"]],
                "max_backfill": FAR,
                "flood_factor": 0,
            },
            store={"retention": FAR},
            alerts={"enabled": False},
        )
        service.start()
        heard = Heard(restartable_mosquitto.url)
        publisher = Publisher(restartable_mosquitto.url)
        started.append((service, heard, publisher))
        wait_until(service.receiver.subscriptions_settled, what="ingest to subscribe")
        return RunningService(service), publisher, heard

    yield start
    for service, heard, publisher in started:
        publisher.close()
        heard.close()
        service.stop()


@pytest.mark.integration
@pytest.mark.parametrize("family", FAMILIES)
def test_a_familys_documented_messages_come_out_of_the_api_as_expected(replay, family):
    running, publisher, heard = replay(family)
    for count, message in enumerate(load_fixture(family)["message"], start=1):
        before = Counter(running.service.snapshot().rejected_by_reason)
        _publish(publisher, message)
        _barrier(running, publisher, count)
        for expected in message.get("expect", []):
            assert _shown(running, expected), f"{message['name']!r}: {expected} not shown"
        for reply in message.get("replies", []):
            answer = (reply["topic"], reply["payload"].encode())
            wait_until(lambda a=answer: heard.has(*a), what=f"the reply to {message['name']!r}")
        if "rejected" in message:
            after = Counter(running.service.snapshot().rejected_by_reason)
            assert after - before == Counter(message["rejected"]), message["name"]


@pytest.mark.integration
def test_a_topic_no_source_reads_is_refused_as_bad_topic(start_service, publisher):
    running = start_service(ingest={"sources": [{"adapter": "zigbee2mqtt", "village": "x"}]})
    publisher.publish("village/xiashan/gauge-1/telemetry/extra", b'{"values": {}}')
    wait_until(lambda: running.rejections(reason="bad_topic"), what="the bad_topic rejection")


@pytest.mark.integration
def test_a_foreign_device_keeps_its_own_id_beside_ours(replay):
    running, publisher, _ = replay("zigbee2mqtt")
    publisher.publish("zigbee2mqtt/Kitchen Sensor", b'{"temperature": 21.5}')
    wait_until(lambda: running.service.stats.stored >= 1, what="the reading to be stored")
    [device] = running.api.get("/api/v1/devices").json()
    assert device["foreign_id"] == "Kitchen Sensor" and device["id"].startswith("kitchen-sensor-")
    assert running.latest(device["id"]) == {"air_temperature": 21.5}


@pytest.mark.integration
def test_messages_are_counted_per_source(replay):
    running, publisher, _ = replay("zigbee2mqtt")
    publisher.publish("zigbee2mqtt/bridge/state", b'{"state": "online"}')
    publisher.publish("zigbee2mqtt/plug", b'{"power": 5, "update_available": false}')
    wait_until(lambda: running.service.stats.messages >= 2, what="both messages")
    counts = running.api.get("/api/v1/ingest/stats").json()["by_source"]["zigbee2mqtt"]
    assert counts == {"messages": 2, "rejected": 0, "quiet": 1, "skipped_fields": 1}


def _barrier(running: RunningService, publisher: Publisher, count: int) -> None:
    """Wait until what was published before is committed.

    A message on our own layout from the same publisher is delivered after the ones before
    it, and batches commit in order, so once it is stored they are too. (Counting messages
    would not do: a family's answers, such as Sparkplug's rebirth requests, come back as
    messages of their own.)
    """
    device = f"barrier-{count}"
    publisher.publish(f"village/replay/{device}/status", b"online")

    def committed() -> bool:
        row = running.service.registry.device(device)
        # Nothing waiting: the writer has also done what the batch asked (replies, topics).
        done = running.service.writer.waiting() == 0
        return row is not None and row.presence.status == "online" and done

    wait_until(committed, what=f"message {count} to be committed")
    wait_until(running.service.receiver.subscriptions_settled, what="learnt subscriptions")


def _publish(publisher: Publisher, message: dict[str, Any]) -> None:
    props = {}
    if message.get("content_type"):
        props["ContentType"] = message["content_type"]
    publisher.publish(message["topic"], message_payload(message), **props)


def _shown(running: RunningService, expected: dict[str, Any]) -> bool:
    device = expected["device"]
    if "presence" in expected:
        answer = running.api.get(f"/api/v1/devices/{device}").json()
        return answer.get("status") == expected["presence"]
    if "event" in expected:
        events = running.api.get(f"/api/v1/devices/{device}/events").json()
        return any(
            e["type"] == expected["event"]
            and ("ts_ms" not in expected or e.get("ts_ms") == expected["ts_ms"])
            for e in events
        )
    if "ts_ms" in expected:
        return _stored_at(running, device, expected["sensor"], expected["ts_ms"], expected["value"])
    latest = running.latest(device)
    return expected["sensor"] in latest and _same(latest[expected["sensor"]], expected["value"])


def _stored_at(running: RunningService, device: str, sensor: str, ts_ms: int, value: float) -> bool:
    answer = running.api.get(
        f"/api/v1/devices/{device}/series/{sensor}",
        params={"start": ts_ms, "end": ts_ms + 1, "step": "1ms"},
    )
    if answer.status_code != 200:
        return False
    buckets = answer.json()["buckets"]
    return any(_same(b["min"], value) and _same(b["max"], value) for b in buckets)


def _same(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
