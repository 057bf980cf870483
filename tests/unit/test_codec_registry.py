"""Choosing a codec: by MQTT 5 content type when known, else by the payload's first byte."""

import pytest

from village_brain.core.catalog import default_catalog
from village_brain.core.records import Decoded, PayloadError, RawReading
from village_brain.ingest.codecs import CodecRegistry, default_registry

RECEIVED = 1_764_403_260_000
NATIVE = b'{"values": {"pm10": 3}}'
SENML = b'[{"n": "pm10", "v": 3}]'


class LineCodec:
    """A made-up format, `sensor=value`, standing for any format added later."""

    name = "line"
    content_types = ("text/x-line",)

    def sniffs(self, payload: bytes) -> bool:
        return b"=" in payload[:64] and payload[:1].isalpha()

    def decode(self, payload: bytes, received_ms: int) -> Decoded:
        sensor, value = payload.decode().split("=")
        return Decoded([RawReading(sensor, float(value))])


def registry() -> CodecRegistry:
    return default_registry(default_catalog())


def codec_for(payload: bytes, content_type: str | None = None) -> str:
    return registry().decode(payload, RECEIVED, content_type)[0]


def test_a_json_object_is_sniffed_as_native():
    assert codec_for(NATIVE) == "native"


def test_a_json_array_is_sniffed_as_senml():
    assert codec_for(b"  " + SENML) == "senml"


def test_the_decoded_readings_come_back_with_the_codec_name():
    assert registry().decode(NATIVE, RECEIVED) == ("native", Decoded([RawReading("pm10", 3.0)]))


def test_a_known_content_type_picks_the_codec_over_the_payload_s_look():
    with pytest.raises(PayloadError) as caught:
        registry().decode(NATIVE, RECEIVED, "application/senml+json")
    assert caught.value.reason == "bad_payload" and "SenML" in caught.value.detail


def test_content_type_parameters_and_case_do_not_matter():
    assert codec_for(SENML, "Application/SenML+JSON; charset=utf-8") == "senml"


@pytest.mark.parametrize("content_type", ["application/json", "text/plain", ""])
def test_an_unknown_or_generic_content_type_falls_back_to_sniffing(content_type: str):
    assert codec_for(SENML, content_type) == "senml"


@pytest.mark.parametrize("payload", [b"online", b"42", b'"on"', b"\xff\xfe"])
def test_a_payload_no_codec_recognises_is_an_unknown_format_naming_the_formats(payload: bytes):
    with pytest.raises(PayloadError) as caught:
        registry().decode(payload, RECEIVED)
    assert caught.value.reason == "unknown_format"
    assert "native" in caught.value.detail and "senml" in caught.value.detail


def test_an_empty_payload_is_an_unknown_format_saying_it_is_empty():
    with pytest.raises(PayloadError) as caught:
        registry().decode(b" \n", RECEIVED)
    assert caught.value.reason == "unknown_format" and "empty" in caught.value.detail


def test_a_registered_codec_is_chosen_by_its_content_type():
    codecs = registry()
    codecs.register(LineCodec())
    assert codecs.decode(b"pm10=3", RECEIVED, "text/x-line") == (
        "line",
        Decoded([RawReading("pm10", 3.0)]),
    )


def test_a_registered_codec_is_chosen_by_sniffing():
    codecs = registry()
    codecs.register(LineCodec())
    assert codecs.decode(b"pm10=3", RECEIVED)[0] == "line"


def test_codecs_are_sniffed_in_the_order_they_were_registered():
    class Greedy(LineCodec):
        name = "greedy"
        content_types = ()

        def sniffs(self, payload: bytes) -> bool:
            return True

    assert CodecRegistry([LineCodec(), Greedy()]).decode(b"pm10=3", RECEIVED)[0] == "line"


def test_a_second_codec_with_a_taken_name_is_refused():
    with pytest.raises(ValueError, match="'line'"):
        CodecRegistry([LineCodec(), LineCodec()])


def test_a_second_codec_claiming_a_taken_content_type_is_refused():
    class Other(LineCodec):
        name = "other"

    with pytest.raises(ValueError, match="text/x-line"):
        CodecRegistry([LineCodec(), Other()])
