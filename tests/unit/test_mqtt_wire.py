"""The buffered MQTT reader: every packet once, whole, whatever the reads cut; nothing of a
dead connection in the next one. The peer is a real socket pair, or a scripted broker."""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Iterator

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode

from village_brain.ingest.mqtt_properties import decode_publish_properties
from village_brain.ingest.mqtt_wire import READ_SIZE, WireClient

from support.waiting import wait_until

Received = tuple[str, bytes, int, int, str | None]


def varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 127, value >> 7
        out.append(byte | (128 if value else 0))
        if not value:
            return bytes(out)


def utf8(text: str) -> bytes:
    raw = text.encode()
    return struct.pack("!H", len(raw)) + raw


def publish(topic: str, payload: bytes, mid: int = 0, qos: int = 1, props: bytes = b"") -> bytes:
    """An MQTT 5 PUBLISH packet as a broker sends it."""
    body = utf8(topic) + (struct.pack("!H", mid) if qos else b"") + varint(len(props)) + props
    body += payload
    return bytes([0x30 | qos << 1]) + varint(len(body)) + body


def content_type(value: str) -> bytes:
    return b"\x03" + utf8(value)


STREAM_PACKETS = [
    publish("village/a/g1/telemetry", b'{"values": {"rssi": -80}}', mid=1),
    # 300 bytes of payload: the remaining length takes two bytes, so a cut can fall between them
    publish("village/a/g2/telemetry", b"x" * 300, mid=2, props=content_type("application/json")),
    publish(
        "village/a/g3/status", b"online", qos=0, props=b"\x01\x01" + content_type("text/plain")
    ),
    bytes([0xD0, 0x00]),  # PINGRESP, handled by paho itself
    publish("village/a/g4/telemetry", b"", mid=65535),
]
STREAM = b"".join(STREAM_PACKETS)
EXPECTED: list[Received] = [
    ("village/a/g1/telemetry", b'{"values": {"rssi": -80}}', 1, 1, None),
    ("village/a/g2/telemetry", b"x" * 300, 2, 1, "application/json"),
    ("village/a/g3/status", b"online", 0, 0, "text/plain"),
    ("village/a/g4/telemetry", b"", 65535, 1, None),
]


def new_client() -> tuple[WireClient, list[Received]]:
    client = WireClient(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5, manual_ack=True)
    received: list[Received] = []

    def on_message(_c: object, _u: object, msg: mqtt.MQTTMessage) -> None:
        ctype = getattr(msg.properties, "ContentType", None)
        received.append((msg.topic, bytes(msg.payload), msg.mid, msg.qos, ctype))

    client.on_message = on_message
    return client, received


@pytest.fixture
def wired() -> Iterator[tuple[WireClient, list[Received], socket.socket]]:
    """A client whose socket is one end of a pair; the test writes the broker's bytes."""
    client, received = new_client()
    ours, broker = socket.socketpair()
    ours.setblocking(False)
    client._sock = ours
    yield client, received, broker
    broker.close()
    client._sock_close()


def feed(client: WireClient, broker: socket.socket, data: bytes) -> MQTTErrorCode:
    broker.sendall(data)
    return client._packet_read()


def test_a_stream_cut_at_any_byte_yields_each_message_once_and_whole(wired):
    client, received, broker = wired
    for cut in range(1, len(STREAM)):
        received.clear()
        feed(client, broker, STREAM[:cut])
        feed(client, broker, STREAM[cut:])
        assert received == EXPECTED, f"cut after byte {cut}"
        assert not client._rbuf


def test_a_stream_arriving_one_byte_at_a_time_yields_each_message_once(wired):
    client, received, broker = wired
    for byte in STREAM:
        assert feed(client, broker, bytes([byte])) == MQTTErrorCode.MQTT_ERR_AGAIN
    assert received == EXPECTED


def test_many_packets_in_one_read_are_all_handled(wired):
    client, received, broker = wired
    feed(client, broker, STREAM * 50)
    assert received == EXPECTED * 50


def test_a_packet_larger_than_one_read_arrives_whole(wired):
    client, received, broker = wired
    big = b"y" * (3 * READ_SIZE + 17)
    sender = threading.Thread(target=broker.sendall, args=(publish("village/a/g5/x", big, 9),))
    sender.start()
    try:
        wait_until(lambda: client._packet_read() and received, what="the large message")
    finally:
        sender.join()
    assert received == [("village/a/g5/x", big, 9, 1, None)]


def test_a_connection_closed_mid_packet_is_lost_and_the_half_packet_dropped(wired):
    client, received, broker = wired
    feed(client, broker, STREAM_PACKETS[0] + STREAM_PACKETS[1][:40])
    broker.close()
    assert client._packet_read() == MQTTErrorCode.MQTT_ERR_CONN_LOST
    client._loop_rc_handle(MQTTErrorCode.MQTT_ERR_CONN_LOST)  # what paho's loop does next
    assert received == EXPECTED[:1] and not client._rbuf and client._sock is None


def test_a_remaining_length_longer_than_four_bytes_is_a_protocol_error(wired):
    client, _received, broker = wired
    assert feed(client, broker, b"\x30\xff\xff\xff\xff\x01") == MQTTErrorCode.MQTT_ERR_PROTOCOL


def test_a_publish_whose_topic_runs_past_the_packet_is_a_protocol_error(wired):
    client, received, broker = wired
    assert feed(client, broker, b"\x32\x03\x00\x09a") == MQTTErrorCode.MQTT_ERR_PROTOCOL
    assert received == []


def test_every_publish_property_is_decoded_with_pahos_names():
    props = (
        b"\x01\x01"
        + b"\x02\x00\x00\x0e\x10"
        + content_type("application/senml+json")
        + b"\x08"
        + utf8("reply/here")
        + b"\x09\x00\x02\xab\xcd"
        + b"\x0b\x81\x01"
        + b"\x0b\x05"
        + b"\x23\x00\x07"
        + b"\x26"
        + utf8("k")
        + utf8("v")
    )
    decoded, end = decode_publish_properties(varint(len(props)) + props + b"payload", 0)
    assert end == len(props) + 1
    assert (decoded.PayloadFormatIndicator, decoded.MessageExpiryInterval) == (1, 3600)
    assert (decoded.ContentType, decoded.ResponseTopic) == ("application/senml+json", "reply/here")
    assert decoded.CorrelationData == b"\xab\xcd" and decoded.SubscriptionIdentifier == [129, 5]
    assert decoded.TopicAlias == 7 and decoded.UserProperty == [("k", "v")]


def test_an_absent_property_reads_as_absent_like_pahos():
    decoded, _ = decode_publish_properties(b"\x00", 0)
    assert getattr(decoded, "ContentType", None) is None


class ScriptedBroker:
    """Accepts connections; answers each CONNECT with CONNACK and then its script's bytes."""

    def __init__(self, scripts: list[bytes]) -> None:
        self._scripts = scripts
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = self._server.getsockname()[1]
        self.received_after_connect: list[bytes] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        for script in self._scripts:
            conn, _ = self._server.accept()
            with conn:
                conn.recv(4096)  # the CONNECT
                conn.sendall(b"\x20\x03\x00\x00\x00" + script)  # CONNACK v5, no properties
                conn.settimeout(0.5)
                self.received_after_connect.append(_read_until_quiet(conn))
        self._server.close()


def _read_until_quiet(conn: socket.socket) -> bytes:
    data = b""
    try:
        while chunk := conn.recv(4096):
            data += chunk
    except TimeoutError:
        pass
    return data


def test_bytes_of_a_connection_lost_mid_packet_never_prefix_the_next_ones_packets():
    half = STREAM_PACKETS[1][: len(STREAM_PACKETS[1]) // 2]
    broker = ScriptedBroker([STREAM_PACKETS[0] + half, STREAM_PACKETS[4]])
    client, received = new_client()
    client.reconnect_delay_set(min_delay=1, max_delay=1)
    client.connect("127.0.0.1", broker.port)
    client.loop_start()
    try:
        wait_until(lambda: len(received) >= 2, timeout=20, what="the second connection's message")
        assert received == [EXPECTED[0], EXPECTED[3]]
        assert client.epoch == 2
    finally:
        client.disconnect()
        client.loop_stop()


def test_acks_for_a_committed_batch_go_out_as_one_write_on_their_own_connection(wired):
    client, _received, broker = wired
    client.epoch = 3
    assert client.ack_many([1, 2, 65535], epoch=3)
    assert client.loop_write() == MQTTErrorCode.MQTT_ERR_SUCCESS
    assert broker.recv(100) == b"\x40\x02\x00\x01\x40\x02\x00\x02\x40\x02\xff\xff"


def test_acks_meant_for_an_earlier_connection_are_not_sent(wired):
    client, _received, _broker = wired
    client.epoch = 3
    assert not client.ack_many([1, 2], epoch=2)
    assert not client.want_write()
