"""The Sparkplug B payload schema as protobuf message classes, for reading and writing payloads.

Sparkplug B payloads are messages of Eclipse Tahu's `sparkplug_b.proto`, shipped unchanged in
`schemas/` (EPL-2.0, see its header) with the descriptor protoc makes of it, in protobuf's text
format. The classes are built from that descriptor by the official `protobuf` runtime, in a
private descriptor pool:

- not from generated `_pb2` code: protoc's Python output checks at import that the runtime
  is the release it came from (or one major version newer) and marks itself "NO CHECKED-IN
  PROTOBUF GENCODE", so a committed copy would break at the next major protobuf release;
  a descriptor is plain data every runtime since 5.26 reads;
- not from a Sparkplug package: those on PyPI pin paho-mqtt below 2 or an old protobuf;
- not in the default pool, so another library that registers its own copy of
  `sparkplug_b.proto` in the same process cannot clash with ours.
"""

from __future__ import annotations

from importlib import resources

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory, text_format
from google.protobuf.message import DecodeError, Message

__all__ = ["DATA_TYPES", "DecodeError", "Payload", "data_type"]

_PACKAGE = "org.eclipse.tahu.protobuf"


def _pool() -> descriptor_pool.DescriptorPool:
    text = resources.files(__package__).joinpath("schemas/sparkplug_b.txtpb").read_text("utf-8")
    pool = descriptor_pool.DescriptorPool()
    pool.Add(text_format.Parse(text, descriptor_pb2.FileDescriptorProto()))
    return pool


_POOL = _pool()
Payload: type[Message] = message_factory.GetMessageClass(
    _POOL.FindMessageTypeByName(f"{_PACKAGE}.Payload")
)
# The DataType enum (Sparkplug 3.0 §6.4.16): number → name, e.g. 9 → "Float".
DATA_TYPES: dict[int, str] = {
    value.number: value.name for value in _POOL.FindEnumTypeByName(f"{_PACKAGE}.DataType").values
}
_BY_NAME = {name: number for number, name in DATA_TYPES.items()}


def data_type(name: str) -> int:
    """The number of a DataType name; KeyError for a name the schema does not have."""
    return _BY_NAME[name]
