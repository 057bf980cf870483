"""Batched acknowledgements against a real Mosquitto: a batch acked in one write is done for
the broker, more than its in-flight window flows, and what was not acked comes again."""

from __future__ import annotations

import threading

import pytest

from village_brain.ingest.mqtt_client import MqttReceiver
from village_brain.ingest.pipeline import InboundMessage

from support.mqtt_clients import Endpoint, publish_qos1, unique_name
from support.waiting import wait_until

pytestmark = pytest.mark.integration

WINDOW = 100  # the receive maximum: the broker sends no more until some are acked


class Inbox:
    def __init__(self) -> None:
        self.messages: list[InboundMessage] = []
        self._lock = threading.Lock()

    def put(self, message: InboundMessage) -> None:
        with self._lock:
            self.messages.append(message)

    def take(self) -> list[InboundMessage]:
        with self._lock:
            taken, self.messages = self.messages, []
            return taken

    def payloads(self) -> list[bytes]:
        with self._lock:
            return [m.payload for m in self.messages]


def started(mosquitto, client_id: str, topic: str, version: str, inbox: Inbox) -> MqttReceiver:
    receiver = MqttReceiver(
        mosquitto.url,
        deliver=inbox.put,
        client_id=client_id,
        mqtt_version=version,
        receive_maximum=WINDOW,
        subscriptions=[topic],
    )
    receiver.start()
    wait_until(receiver.subscriptions_settled, what="the subscription")
    return receiver


@pytest.fixture(params=["5", "3.1.1"])
def version(request: pytest.FixtureRequest) -> str:
    return request.param


def test_batches_acked_in_one_write_each_are_done_for_the_broker(mosquitto, version):
    client_id, topic = unique_name("ingest"), unique_name("village/acks") + "/x/telemetry"
    endpoint = Endpoint(mosquitto.host, mosquitto.port, version)
    inbox = Inbox()
    receiver = started(mosquitto, client_id, topic, version, inbox)
    sent = [f"reading-{n}".encode() for n in range(3 * WINDOW + 7)]
    publish_qos1(endpoint, topic, sent)
    got: list[bytes] = []
    while len(got) < len(sent):
        batch = wait_until(inbox.take, timeout=20, what=f"more than {len(got)} messages")
        got += [m.payload for m in batch]
        receiver.ack_all(batch)  # the window only moves on because these acks arrive
    receiver.stop()
    assert sorted(got) == sorted(sent) and len(got) == len(sent)

    again = Inbox()
    receiver = started(mosquitto, client_id, topic, version, again)
    try:
        publish_qos1(endpoint, topic, [b"marker"])
        wait_until(lambda: b"marker" in again.payloads(), what="the marker")
        assert again.payloads() == [b"marker"], "acked messages were delivered again"
    finally:
        receiver.stop()


def test_messages_not_acked_come_again_on_the_next_connection(mosquitto, version):
    client_id, topic = unique_name("ingest"), unique_name("village/acks") + "/x/telemetry"
    endpoint = Endpoint(mosquitto.host, mosquitto.port, version)
    inbox = Inbox()
    receiver = started(mosquitto, client_id, topic, version, inbox)
    publish_qos1(endpoint, topic, [b"one", b"two", b"three"])
    wait_until(lambda: len(inbox.payloads()) == 3, what="three messages")
    receiver.ack_all(inbox.take()[:1])
    receiver.stop()

    again = Inbox()
    receiver = started(mosquitto, client_id, topic, version, again)
    try:
        wait_until(lambda: len(again.payloads()) >= 2, what="the two messages not acked")
        assert sorted(again.payloads()) == [b"three", b"two"]
    finally:
        receiver.stop()
