"""MQTT 5 PUBLISH properties, decoded cheaply (MQTT 5.0 §3.3.2.3).

paho builds a general `Properties` object for every PUBLISH, which costs more than the rest
of the message's decoding. A PUBLISH can carry only eight properties, so a slotted record
with paho's attribute names does the job: an absent property raises AttributeError as with
paho, so `getattr(props, "ContentType", None)` reads either kind.
"""

from __future__ import annotations

from paho.mqtt.exception import MalformedPacket


class PublishProperties:
    """The properties of one PUBLISH; repeatable ones are lists, as paho has them."""

    __slots__ = (
        "ContentType",
        "CorrelationData",
        "MessageExpiryInterval",
        "PayloadFormatIndicator",
        "ResponseTopic",
        "SubscriptionIdentifier",
        "TopicAlias",
        "UserProperty",
    )

    PayloadFormatIndicator: int
    MessageExpiryInterval: int
    ContentType: str
    ResponseTopic: str
    CorrelationData: bytes
    SubscriptionIdentifier: list[int]
    TopicAlias: int
    UserProperty: list[tuple[str, str]]

    def __repr__(self) -> str:
        present = {n: getattr(self, n) for n in self.__slots__ if hasattr(self, n)}
        return f"PublishProperties({present})"


def decode_publish_properties(body: bytes, pos: int) -> tuple[PublishProperties, int]:
    """The properties starting at `body[pos]` and the position just after them."""
    props = PublishProperties()
    try:
        length, pos = _varint(body, pos)
        end = pos + length
        if end > len(body):
            raise MalformedPacket("properties run past the packet")
        while pos < end:
            pos = _one(props, body, pos)
    except (IndexError, UnicodeDecodeError) as err:
        raise MalformedPacket(f"bad PUBLISH properties: {err}") from err
    if pos != end:
        raise MalformedPacket("a property runs past the properties' length")
    return props, end


def _one(props: PublishProperties, body: bytes, pos: int) -> int:
    """Decode the property at `pos` into `props`; the position after it."""
    ident = body[pos]
    pos += 1
    if ident == 0x01:
        props.PayloadFormatIndicator = body[pos]
        return pos + 1
    if ident == 0x02:
        props.MessageExpiryInterval = int.from_bytes(body[pos : pos + 4], "big")
        return _checked(body, pos + 4)
    if ident == 0x03:
        props.ContentType, pos = _string(body, pos)
        return pos
    if ident == 0x08:
        props.ResponseTopic, pos = _string(body, pos)
        return pos
    if ident == 0x09:
        size = (body[pos] << 8) | body[pos + 1]
        props.CorrelationData = body[pos + 2 : pos + 2 + size]
        return _checked(body, pos + 2 + size)
    if ident == 0x0B:
        value, pos = _varint(body, pos)
        _listed(props, "SubscriptionIdentifier").append(value)
        return pos
    if ident == 0x23:
        props.TopicAlias = (body[pos] << 8) | body[pos + 1]
        return pos + 2
    if ident == 0x26:
        name, pos = _string(body, pos)
        value, pos = _string(body, pos)
        _listed(props, "UserProperty").append((name, value))
        return pos
    raise MalformedPacket(f"property {ident:#04x} is not allowed in PUBLISH")


def _listed(props: PublishProperties, name: str) -> list:
    try:
        return getattr(props, name)
    except AttributeError:
        values: list = []
        setattr(props, name, values)
        return values


def _string(body: bytes, pos: int) -> tuple[str, int]:
    size = (body[pos] << 8) | body[pos + 1]
    end = _checked(body, pos + 2 + size)
    return body[pos + 2 : end].decode("utf-8"), end


def _varint(body: bytes, pos: int) -> tuple[int, int]:
    value, shift = 0, 0
    for i in range(pos, pos + 4):
        byte = body[i]
        value |= (byte & 127) << shift
        if not byte & 128:
            return value, i + 1
        shift += 7
    raise MalformedPacket("variable byte integer longer than four bytes")


def _checked(body: bytes, end: int) -> int:
    if end > len(body):
        raise MalformedPacket("a property runs past the packet")
    return end
