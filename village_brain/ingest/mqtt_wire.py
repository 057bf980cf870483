"""A paho-mqtt 2.x client that costs less per message: `WireClient`.

Stock paho spends most of a message's time on the wire rather than on the message:

- it reads every packet with separate `recv` calls for the command byte, each length byte
  and the body, one packet per `select()`;
- with manual acknowledgement each `ack()` queues one PUBACK and wakes the network thread
  for it: two syscalls on each side, per message;
- it builds a full MQTT 5 `Properties` object for every PUBLISH.

`WireClient` changes exactly those three things and leaves everything else (connect,
keepalive, TLS, reconnect, subscriptions, outgoing QoS flows, QoS 2 inbound) to paho:

- `_packet_read` reads up to `READ_SIZE` bytes at once and handles every complete packet in
  them; a packet split across reads waits in a buffer for its rest. The buffer belongs to one
  connection: it is dropped whenever the socket closes or a reconnect begins, so bytes of a
  dead connection never prefix the next one's packets.
- `ack_many` sends the PUBACKs of many messages as one write, with one wake-up. Acks carry
  the connection `epoch` they were meant for; an ack for an older connection is dropped
  (packet ids belong to the connection that used them), atomically with respect to a
  reconnect starting.
- QoS 0/1 PUBLISH packets are decoded here, with `PublishProperties`: a slotted record with
  paho's attribute names, read with `getattr(props, "ContentType", None)` like paho's.

It relies on paho's private methods `_packet_read`, `_packet_handle`, `_packet_queue`,
`_sock_close` and `_handle_on_message` and the `_in_packet` dict, all stable through the
2.x series; pyproject pins paho below 3 for that reason.
"""

from __future__ import annotations

import struct
import threading
import time
from collections.abc import Sequence

import paho.mqtt.client as mqtt
from paho.mqtt.enums import MQTTErrorCode
from paho.mqtt.exception import MalformedPacket

from village_brain.ingest.mqtt_properties import decode_publish_properties

READ_SIZE = 65_536
PUBLISH = 0x30
PUBACK = 0x40
MAX_LENGTH_BYTES = 4  # MQTT's remaining length is at most four bytes long
_PUBACK = struct.Struct("!BBH")


class WireClient(mqtt.Client):
    """paho's `Client` with buffered reads, batched PUBACKs and lean PUBLISH decoding."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._rbuf = bytearray()
        self._epoch_lock = threading.Lock()
        self.epoch = 0  # counts connection attempts; see ack_many
        self._v5 = self._protocol == mqtt.MQTTv5

    # -- connection lifetime: the read buffer and the epoch belong to one socket --

    def reconnect(self) -> MQTTErrorCode:
        with self._epoch_lock:
            # Under the lock: an ack_many that passed its epoch check has queued its packet
            # by now, and paho's reconnect clears the outgoing queue right after.
            self.epoch += 1
            self._rbuf = bytearray()
        return super().reconnect()

    def _sock_close(self) -> None:
        self._rbuf = bytearray()
        super()._sock_close()

    # -- acknowledgements --

    def ack_many(self, mids: Sequence[int], epoch: int) -> bool:
        """PUBACK each of `mids` in one write, if the connection is still `epoch`'s.

        Needs `manual_ack=True`. False (and nothing sent) when that connection is gone: the
        broker then delivers the messages again on the next one.
        """
        if not mids:
            return True
        packet = b"".join([_PUBACK.pack(PUBACK, 2, mid) for mid in mids])
        with self._epoch_lock:
            if epoch != self.epoch or self._sock is None:
                return False
            self._packet_queue(PUBACK, packet, 0, 0)
        return True

    # -- reading --

    def _packet_read(self) -> MQTTErrorCode:
        try:
            data = self._sock_recv(READ_SIZE)
        except BlockingIOError:
            return MQTTErrorCode.MQTT_ERR_AGAIN
        except OSError as err:  # TimeoutError and connection errors alike
            self._easy_log(mqtt.MQTT_LOG_ERR, "failed to receive on socket: %s", err)
            return MQTTErrorCode.MQTT_ERR_CONN_LOST
        if not data:
            return MQTTErrorCode.MQTT_ERR_CONN_LOST
        with self._msgtime_mutex:
            self._last_bytes_received = time.monotonic()
        buf = self._rbuf
        buf += data
        return self._handle_buffered(buf)

    def _handle_buffered(self, buf: bytearray) -> MQTTErrorCode:
        """Handle every complete packet at the head of `buf`, keep the incomplete rest."""
        sock = self._sock
        pos, end = 0, len(buf)
        rc = MQTTErrorCode.MQTT_ERR_SUCCESS
        while end - pos >= 2:
            length, mult, i = 0, 1, pos + 1
            complete = False
            while i < end:
                byte = buf[i]
                i += 1
                length += (byte & 127) * mult
                if not byte & 128:
                    complete = True
                    break
                if i - pos > MAX_LENGTH_BYTES:
                    return MQTTErrorCode.MQTT_ERR_PROTOCOL
                mult <<= 7
            if not complete or end - i < length:
                break  # the length or the body is still on its way
            command = buf[pos]
            body = bytes(buf[i : i + length])
            pos = i + length
            rc = self._handle_one(command, body)
            if rc or self._sock is not sock:
                # An error or a DISCONNECT closed the socket (and dropped the buffer): what
                # follows in `buf` belongs to a dead connection.
                return rc
        if pos:
            del buf[:pos]
        return rc if rc else MQTTErrorCode.MQTT_ERR_AGAIN

    def _handle_one(self, command: int, body: bytes) -> MQTTErrorCode:
        try:
            if command & 0xF0 == PUBLISH and command & 0x06 != 0x04:
                return self._handle_lean_publish(command, body)
            packet = self._in_packet
            packet["command"] = command
            packet["remaining_length"] = len(body)
            packet["packet"] = bytearray(body)
            packet["pos"] = 0
            return self._packet_handle()
        except MalformedPacket as exc:
            self._easy_log(mqtt.MQTT_LOG_DEBUG, "Received malformed packet: %s", exc)
            return MQTTErrorCode.MQTT_ERR_PROTOCOL

    def _handle_lean_publish(self, header: int, body: bytes) -> MQTTErrorCode:
        """A QoS 0 or 1 PUBLISH, as paho's `_handle_publish` would hand it on."""
        qos = (header & 0x06) >> 1
        try:
            end = 2 + ((body[0] << 8) | body[1])
            topic = body[2:end]
            if len(topic) != end - 2:
                raise MalformedPacket("topic runs past the packet")
            mid = 0
            if qos:
                mid = (body[end] << 8) | body[end + 1]
                end += 2
        except IndexError as err:
            raise MalformedPacket(f"PUBLISH too short: {err}") from err
        if not topic and not self._v5:
            raise MalformedPacket("topic can't be empty in MQTTv3")
        message = mqtt.MQTTMessage(mid, topic)
        if self._v5:
            message.properties, end = decode_publish_properties(body, end)  # type: ignore[assignment]
        message.payload = body[end:]
        message.dup = bool(header & 0x08)
        message.qos = qos
        message.retain = bool(header & 0x01)
        message.timestamp = time.monotonic()
        self._handle_on_message(message)
        if qos and not self._manual_ack:
            return self._send_puback(mid)
        return MQTTErrorCode.MQTT_ERR_SUCCESS
