"""Choosing the codec for a payload: by its MQTT 5 content type when known, else by its look."""

from __future__ import annotations

from collections.abc import Sequence

from village_brain.core.catalog import Catalog
from village_brain.core.records import Decoded, PayloadError
from village_brain.ingest.codecs.base import Codec
from village_brain.ingest.codecs.jsontext import first_byte
from village_brain.ingest.codecs.lineprotocol_codec import LineProtocolCodec
from village_brain.ingest.codecs.native import NativeCodec
from village_brain.ingest.codecs.senml import SenmlCodec
from village_brain.ingest.codecs.senml_cbor import SenmlCborCodec


class CodecRegistry:
    def __init__(self, codecs: Sequence[Codec]) -> None:
        self._codecs: list[Codec] = []
        self._by_content_type: dict[str, Codec] = {}
        for codec in codecs:
            self.register(codec)

    def register(self, codec: Codec) -> None:
        """Add a format; codecs registered earlier are sniffed first."""
        if any(known.name == codec.name for known in self._codecs):
            raise ValueError(f"a codec named {codec.name!r} is already registered")
        for content_type in codec.content_types:
            taken = self._by_content_type.get(_normal(content_type))
            if taken:
                raise ValueError(f"content type {content_type!r} already belongs to {taken.name!r}")
        self._codecs.append(codec)
        for content_type in codec.content_types:
            self._by_content_type[_normal(content_type)] = codec

    def decode(
        self, payload: bytes, received_ms: int, content_type: str | None = None
    ) -> tuple[str, Decoded]:
        """The name of the codec used and what it decoded; PayloadError when none fits."""
        codec = self._choose(payload, content_type)
        return codec.name, codec.decode(payload, received_ms)

    def _choose(self, payload: bytes, content_type: str | None) -> Codec:
        if content_type:
            codec = self._by_content_type.get(_normal(content_type))
            if codec:
                return codec
        for codec in self._codecs:
            if codec.sniffs(payload):
                return codec
        raise PayloadError("unknown_format", self._unknown_detail(payload))

    def _unknown_detail(self, payload: bytes) -> str:
        names = ", ".join(codec.name for codec in self._codecs)
        byte = first_byte(payload)
        if byte is None:
            return f"the payload is empty; expected one of these formats: {names}"
        start = repr(chr(byte)) if byte < 0x80 else f"the byte 0x{byte:02x}"
        return f"no format recognises a payload starting with {start}; expected one of: {names}"


def default_registry(catalog: Catalog) -> CodecRegistry:
    return CodecRegistry(
        [NativeCodec(), SenmlCodec(catalog), SenmlCborCodec(catalog), LineProtocolCodec()]
    )


def _normal(content_type: str) -> str:
    """`Application/SenML+JSON; charset=utf-8` and `application/senml+json` are one type."""
    return content_type.split(";", 1)[0].strip().lower()
