"""amqtt speaks MQTT 3.1.1 only: refuse an MQTT 5 CONNECT in words its client understands.

amqtt 0.12 parses a CONNECT as 3.1.1 before it looks at the protocol level. In an MQTT 5
CONNECT the properties come next, which amqtt takes for the length of the client id, so it
waits for bytes that never come and the client (mosquitto_pub -V mqttv5, mqtt.js) hangs.

`Mqtt311Broker` therefore reads the start of each TCP connection's first packet itself, up to
the protocol level. Level 5 gets an MQTT 5 CONNACK with reason code 0x84 (Unsupported Protocol
Version) and the connection is closed; everything else goes to amqtt exactly as it came, with
the bytes already read put back in front, through amqtt's public `external_connected`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from amqtt.adapters import ReaderAdapter, StreamWriterAdapter
from amqtt.broker import Broker

logger = logging.getLogger(__name__)

MQTT5_LEVEL = 5
_CONNECT = 0x10
# CONNACK: no session present, reason code 0x84 Unsupported Protocol Version, no properties.
MQTT5_REFUSAL = bytes([0x20, 0x03, 0x00, 0x84, 0x00])
_LONGEST_PROTOCOL_NAME = 6  # "MQIsdp" (MQTT 3.1); "MQTT" since 3.1.1
_LINGER_S = 2.0  # for the client to read the CONNACK and close before we do
_MAX_DISCARD = 1 << 20


class PrefixedReader(ReaderAdapter):
    """A stream read again from its start: `prefix` (already read from it) and then the rest."""

    def __init__(self, prefix: bytes, reader: asyncio.StreamReader) -> None:
        self._prefix = prefix
        self._reader = reader

    async def read(self, n: int = -1) -> bytes:
        if n == -1:
            head, self._prefix = self._prefix, b""
            return head + await self._reader.read(-1)
        head, self._prefix = self._prefix[:n], self._prefix[n:]
        if len(head) == n:
            return head
        return head + await self._reader.readexactly(n - len(head))

    def feed_eof(self) -> None:
        self._reader.feed_eof()


async def read_protocol_level(reader: asyncio.StreamReader) -> tuple[bytes, int | None, int]:
    """The bytes read from a connection's start, the protocol level of the CONNECT they begin
    (None if they do not begin one as expected) and how many bytes of that packet are left.

    Never reads past the first packet, so whatever is read can be handed on unchanged.
    """
    head = bytearray(await reader.readexactly(1))
    if head[0] != _CONNECT:
        return bytes(head), None, 0
    remaining = 0
    for shift in (0, 7, 14, 21):
        byte = (await reader.readexactly(1))[0]
        head.append(byte)
        remaining |= (byte & 0x7F) << shift
        if not byte & 0x80:
            break
    else:
        return bytes(head), None, 0  # a malformed length: amqtt says so
    if remaining < 2:
        return bytes(head), None, remaining
    length_bytes = await reader.readexactly(2)
    head += length_bytes
    name_length = int.from_bytes(length_bytes, "big")
    if name_length > _LONGEST_PROTOCOL_NAME or remaining < 2 + name_length + 1:
        return bytes(head), None, remaining - 2
    name_and_level = await reader.readexactly(name_length + 1)
    head += name_and_level
    return bytes(head), name_and_level[-1], remaining - 2 - name_length - 1


class Mqtt311Broker(Broker):
    """amqtt's broker, with MQTT 5 clients refused at once instead of left hanging."""

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__(config)
        self._told_about: set[str] = set()

    async def stream_connected(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, listener_name: str
    ) -> None:
        try:
            head, level, rest = await read_protocol_level(reader)
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()  # gone before it sent a CONNECT's start: nothing to answer
            return
        if level == MQTT5_LEVEL:
            await self._refuse_mqtt5(reader, writer, rest)
            return
        await self.external_connected(
            PrefixedReader(head, reader), StreamWriterAdapter(writer), listener_name
        )

    async def _refuse_mqtt5(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, rest: int
    ) -> None:
        peer = writer.get_extra_info("peername")
        address = str(peer[0]) if peer else "?"
        # Devices retry every few seconds: one warning per address, the rest in the debug log.
        first_time = address not in self._told_about
        self._told_about.add(address)
        logger.log(
            logging.WARNING if first_time else logging.DEBUG,
            "a client at %s tried MQTT 5; the embedded fallback broker (amqtt) speaks MQTT "
            "3.1.1 only, so it was refused (CONNACK 0x84, unsupported protocol version). "
            "Install Mosquitto (apt-get install mosquitto), which the embedded broker uses "
            "from the next start and which speaks both, or set the client to MQTT 3.1.1",
            address,
        )
        with contextlib.suppress(OSError, asyncio.TimeoutError, asyncio.IncompleteReadError):
            # Read the rest of the CONNECT first: closing with unread bytes would send a reset,
            # which can make the client lose the CONNACK.
            if rest <= _MAX_DISCARD:
                await asyncio.wait_for(reader.readexactly(rest), _LINGER_S)
            writer.write(MQTT5_REFUSAL)
            await writer.drain()
            if writer.can_write_eof():
                writer.write_eof()
            await asyncio.wait_for(_until_closed(reader), _LINGER_S)
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


async def _until_closed(reader: asyncio.StreamReader) -> None:
    while await reader.read(4096):
        pass
