"""paho-mqtt clients that behave like ingest: QoS 1, persistent session, optional manual ack."""

from __future__ import annotations

import itertools
import socket
import threading
import time
from dataclasses import dataclass

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

SESSION_EXPIRY_SECONDS = 3600
_ids = itertools.count()


@dataclass(frozen=True)
class Endpoint:
    host: str
    port: int
    mqtt_version: str  # "5" or "3.1.1"


def unique_name(prefix: str) -> str:
    """Client ids and topics unique within the run, so tests sharing a broker stay apart."""
    return f"{prefix}-{time.monotonic_ns()}-{next(_ids)}"


def _new_client(
    endpoint: Endpoint, client_id: str, persistent: bool, manual_ack: bool
) -> mqtt.Client:
    if endpoint.mqtt_version == "5":
        return mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=mqtt.MQTTv5,
            manual_ack=manual_ack,
        )
    return mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=mqtt.MQTTv311,
        clean_session=not persistent,
        manual_ack=manual_ack,
    )


def _connect(client: mqtt.Client, endpoint: Endpoint, persistent: bool) -> None:
    if endpoint.mqtt_version == "5":
        properties = Properties(PacketTypes.CONNECT)
        properties.SessionExpiryInterval = SESSION_EXPIRY_SECONDS if persistent else 0
        client.connect(
            endpoint.host, endpoint.port, clean_start=not persistent, properties=properties
        )
    else:
        client.connect(endpoint.host, endpoint.port)


class Subscriber:
    """A persistent-session QoS 1 subscriber that records every payload it is handed."""

    def __init__(
        self, endpoint: Endpoint, client_id: str, topic: str, manual_ack: bool = False
    ) -> None:
        self.endpoint = endpoint
        self.topic = topic
        self.received: list[bytes] = []
        self.redelivered: list[bytes] = []
        self._changed = threading.Condition()
        self._subscribed = threading.Event()
        self._client = _new_client(endpoint, client_id, persistent=True, manual_ack=manual_ack)
        self._client.on_connect = self._on_connect
        self._client.on_message = self._on_message
        self._client.on_subscribe = self._on_subscribe

    def _on_connect(
        self,
        client: mqtt.Client,
        userdata: object,
        flags: object,
        reason: object,
        properties: object,
    ) -> None:
        # Subscribing on every connect mirrors ingest; with a kept session it is harmless.
        client.subscribe(self.topic, qos=1)

    def _on_subscribe(
        self,
        client: mqtt.Client,
        userdata: object,
        mid: int,
        reason_codes: object,
        properties: object,
    ) -> None:
        self._subscribed.set()

    def _on_message(self, client: mqtt.Client, userdata: object, message: mqtt.MQTTMessage) -> None:
        with self._changed:
            self.received.append(message.payload)
            if message.dup:
                self.redelivered.append(message.payload)
            self._changed.notify_all()

    def connect(self, timeout: float = 5.0) -> None:
        _connect(self._client, self.endpoint, persistent=True)
        self._client.loop_start()
        # Anything published before the SUBACK might not reach a brand-new session.
        if not self._subscribed.wait(timeout):
            raise TimeoutError(f"no SUBACK from {self.endpoint} within {timeout}s")

    def wait_for(self, count: int, timeout: float = 10.0) -> list[bytes]:
        """Wait until `count` messages arrived (or the timeout passed); return what arrived."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(self.received) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._changed.wait(remaining)
            return list(self.received)

    def disconnect(self) -> None:
        """Leave politely (DISCONNECT); the broker keeps the session."""
        self._client.disconnect()
        self._client.loop_stop()

    def drop(self) -> None:
        """Vanish like a crashed process: no DISCONNECT, no PUBACK, just a closed socket."""
        sock = self._client.socket()
        self._client.loop_stop()
        if isinstance(sock, socket.socket):
            sock.close()


def publish_qos1(
    endpoint: Endpoint, topic: str, payloads: list[bytes], timeout: float = 20.0
) -> None:
    """Publish every payload at QoS 1 and return once the broker has acknowledged all of them."""
    client = _new_client(endpoint, unique_name("publisher"), persistent=False, manual_ack=False)
    client.max_inflight_messages_set(500)
    client.max_queued_messages_set(0)
    _connect(client, endpoint, persistent=False)
    client.loop_start()
    try:
        infos = [client.publish(topic, payload, qos=1) for payload in payloads]
        deadline = time.monotonic() + timeout
        for info in infos:
            if info.rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
                raise RuntimeError(f"publish failed: {info.rc}")
            info.wait_for_publish(max(deadline - time.monotonic(), 0.01))
            if not info.is_published():
                raise TimeoutError(f"broker did not acknowledge all {len(payloads)} messages")
    finally:
        client.disconnect()
        client.loop_stop()
