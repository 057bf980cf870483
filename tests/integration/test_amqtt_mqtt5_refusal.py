"""The amqtt fallback speaks MQTT 3.1.1 only; an MQTT 5 client is refused at once, not left hanging.

Before the refusal, amqtt read the properties of an MQTT 5 CONNECT as the length of the client
id and waited for bytes that never came: mosquitto_pub -V mqttv5, mqtt.js and paho hung.
"""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from village_brain.broker.amqtt_mqtt5_refusal import MQTT5_REFUSAL
from village_brain.broker.amqtt_thread import AmqttThread

from support.ports import free_port
from support.waiting import wait_until

pytestmark = pytest.mark.integration

REFUSED_WITHIN_S = 5.0
UNSUPPORTED_PROTOCOL_VERSION = 0x84

# An MQTT 5 CONNECT as clients send it: clean start, keepalive 60, a Session Expiry Interval
# property of 3600 s (the bytes amqtt took for a client id length), client id "probe".
MQTT5_CONNECT = bytes(
    [0x10, 23, 0, 4, *b"MQTT", 5, 0x02, 0, 60, 5, 0x11, 0, 0, 0x0E, 0x10, 0, 5, *b"probe"]
)


@pytest.fixture
def amqtt() -> Iterator[AmqttThread]:
    broker = AmqttThread("127.0.0.1", free_port())
    broker.start()
    yield broker
    broker.stop()


@dataclass
class Outcome:
    connack: list[int] = field(default_factory=list)
    disconnected: bool = False


def connect_once(broker: AmqttThread, client: mqtt.Client, **connect: object) -> Outcome:
    """Connect and run the client's loop by hand (no automatic reconnect) until it is closed."""
    outcome = Outcome()
    client.on_connect = lambda _c, _u, _f, reason, _p: outcome.connack.append(int(reason.value))

    def on_disconnect(*_: object) -> None:
        outcome.disconnected = True

    client.on_disconnect = on_disconnect
    client.connect(broker.host, broker.port, **connect)

    def closed() -> bool:
        client.loop(timeout=0.05)
        return outcome.disconnected

    wait_until(closed, timeout=REFUSED_WITHIN_S, what="the broker to answer and close")
    return outcome


def test_a_paho_mqtt5_client_is_refused_with_unsupported_protocol_version(
    amqtt: AmqttThread,
) -> None:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="v5", protocol=mqtt.MQTTv5)
    properties = Properties(PacketTypes.CONNECT)
    properties.SessionExpiryInterval = 3600
    started = time.monotonic()
    outcome = connect_once(amqtt, client, clean_start=False, properties=properties)
    assert outcome.connack == [UNSUPPORTED_PROTOCOL_VERSION]
    assert time.monotonic() - started < REFUSED_WITHIN_S


def test_an_mqtt5_connect_gets_an_mqtt5_connack_and_the_connection_closes(
    amqtt: AmqttThread,
) -> None:
    with socket.create_connection((amqtt.host, amqtt.port), timeout=REFUSED_WITHIN_S) as sock:
        sock.sendall(MQTT5_CONNECT)
        received = b""
        while chunk := sock.recv(64):
            received += chunk
    assert received == MQTT5_REFUSAL
    assert received[3] == UNSUPPORTED_PROTOCOL_VERSION


def test_the_refusal_is_logged_saying_to_install_mosquitto(
    amqtt: AmqttThread, caplog: pytest.LogCaptureFixture
) -> None:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="v5-log", protocol=mqtt.MQTTv5)
    with caplog.at_level(logging.WARNING):
        connect_once(amqtt, client)
        wait_until(lambda: "tried MQTT 5" in caplog.text, what="the refusal in the log")
    assert "3.1.1 only" in caplog.text and "Install Mosquitto" in caplog.text


def test_an_mqtt_3_1_1_client_with_a_long_connect_still_connects(amqtt: AmqttThread) -> None:
    # A will of 300 bytes makes the CONNECT's remaining length take two bytes.
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="v311", protocol=mqtt.MQTTv311)
    client.will_set("village/test/will", b"w" * 300, qos=1)
    connected: list[int] = []
    client.on_connect = lambda _c, _u, _f, reason, _p: connected.append(int(reason.value))
    client.connect(amqtt.host, amqtt.port)
    try:

        def answered() -> bool:
            client.loop(timeout=0.05)
            return bool(connected)

        wait_until(answered, timeout=REFUSED_WITHIN_S, what="a CONNACK")
        assert connected == [0]
    finally:
        client.disconnect()
