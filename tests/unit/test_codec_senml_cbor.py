"""SenML in CBOR (RFC 8428 §6): integer labels, and the readings and refusals of SenML JSON."""

import base64
import math
from decimal import Decimal
from pathlib import Path

import cbor2
import msgspec
import pytest

from village_brain.core.catalog import default_catalog
from village_brain.core.records import Decoded, PayloadError, RawReading
from village_brain.ingest.codecs import default_registry
from village_brain.ingest.codecs.senml import SenmlCodec
from village_brain.ingest.codecs.senml_cbor import LABELS, SenmlCborCodec

RECEIVED = 1_764_403_260_000
SENML_FIXTURES = Path(__file__).parents[1] / "fixtures" / "senml"
RFC_JSON_EXAMPLES = sorted(p.name for p in SENML_FIXTURES.glob("*.json"))
NAMES = {name: label for label, name in LABELS.items()}


def decode(payload: bytes) -> Decoded:
    return SenmlCborCodec(default_catalog()).decode(payload, RECEIVED)


def refusal(payload: bytes) -> PayloadError:
    with pytest.raises(PayloadError) as caught:
        decode(payload)
    return caught.value


def cbor_pack(pack: list[dict]) -> bytes:
    """A JSON SenML pack as RFC 8428 §6 writes it: integer labels, `vd` as a byte string."""

    def value(name: str, raw: object) -> object:
        if name == "vd":
            return base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
        return raw

    return cbor2.dumps([{NAMES[k]: value(k, v) for k, v in record.items()} for record in pack])


def rfc_section6_bytes() -> bytes:
    """The RFC's own hex dump of its §5.1.2 pack (RFC 8428 §6, pages 19–20)."""
    lines = (SENML_FIXTURES / "rfc8428-section6.cbor.hex").read_text().splitlines()
    return bytes.fromhex("".join(line[5:52] for line in lines if "|" in line))


def test_the_rfc_s_own_cbor_bytes_give_the_readings_of_its_json_pack():
    json_pack = (SENML_FIXTURES / "multiple-datapoints-timed.json").read_bytes()
    expected = SenmlCodec(default_catalog()).decode(json_pack, RECEIVED)
    payload = rfc_section6_bytes()
    assert len(payload) == 0xC3
    assert decode(payload) == expected
    assert len(expected.readings) == 7 and not expected.problems


@pytest.mark.parametrize("example", RFC_JSON_EXAMPLES)
def test_every_rfc_example_in_cbor_decodes_exactly_as_in_json(example: str):
    json_payload = (SENML_FIXTURES / example).read_bytes()
    expected = SenmlCodec(default_catalog()).decode(json_payload, RECEIVED)
    assert decode(cbor_pack(msgspec.json.decode(json_payload))) == expected


def test_base_sum_is_label_minus_6():
    # With `bs` set and no value, the record is refused as a sum, not as a record without value.
    [problem] = decode(cbor2.dumps([{-6: 0.0, 0: "energy"}])).problems
    assert problem.reason == "wrong_type" and "sum values (s) are not supported" in problem.detail


def test_a_half_precision_float_is_read():
    assert decode(bytes.fromhex("81a200617402f94de0")).readings == [RawReading("t", 23.5)]


def test_a_decimal_fraction_becomes_a_float():
    payload = cbor2.dumps([{0: "temperature", 1: "K", 2: cbor2.CBORTag(4, [-2, 27315])}])
    assert decode(payload).readings == [RawReading("air_temperature", 273.15, "K", None)]


def test_a_decimal_fraction_time_is_read_in_seconds():
    payload = cbor2.dumps([{0: "rainfall", 2: 1, 6: Decimal("1795939200.25")}])
    assert decode(payload).readings[0].ts_ms == 1_795_939_200_250


def test_an_integer_value_is_read_as_a_float():
    [reading] = decode(cbor2.dumps([{0: "pm10", 2: 3}])).readings
    assert reading.value == 3.0 and type(reading.value) is float


def test_a_boolean_value_stays_a_boolean():
    assert decode(cbor2.dumps([{0: "smoke", 4: True}])).readings == [RawReading("smoke", True)]


def test_an_extension_with_a_text_key_is_ignored():
    assert decode(cbor2.dumps([{0: "pm10", 2: 3, "vendor": "x"}])).readings == [
        RawReading("pm10", 3.0)
    ]


def test_a_must_understand_text_key_refuses_the_pack():
    error = refusal(cbor2.dumps([{0: "pm10", 2: 3, "foo_": 1}]))
    assert error.reason == "bad_payload" and "'foo_'" in error.detail


def test_an_integer_label_the_rfc_table_does_not_list_is_ignored():
    assert decode(cbor2.dumps([{0: "pm10", 2: 3, 9: "link"}])).readings == [RawReading("pm10", 3.0)]


def test_a_boolean_key_is_not_mistaken_for_label_1():
    decoded = decode(cbor2.dumps([{0: "air_temperature", 2: 3, True: "K"}]))
    assert decoded.readings == [RawReading("air_temperature", 3.0, None, None)]


def test_a_data_value_is_refused_for_its_record_only():
    decoded = decode(cbor2.dumps([{0: "pm10", 2: 3}, {0: "tag", 8: b"hi \n"}]))
    assert decoded.readings == [RawReading("pm10", 3.0)]
    assert [p.reason for p in decoded.problems] == ["wrong_type"]
    assert "vd" in decoded.problems[0].detail


def test_a_byte_string_where_text_belongs_is_a_wrong_type_saying_so():
    [problem] = decode(cbor2.dumps([{0: b"pm10", 2: 3}])).problems
    assert problem.reason == "wrong_type" and "a byte string" in problem.detail


def test_a_tagged_value_senml_does_not_define_is_a_wrong_type():
    [problem] = decode(cbor2.dumps([{0: "pm10", 2: cbor2.CBORTag(99, 3)}])).problems
    assert problem.reason == "wrong_type" and "'v' must be a number" in problem.detail


def test_a_nan_value_comes_through_for_the_validator_to_refuse():
    [reading] = decode(cbor2.dumps([{0: "pm10", 2: math.nan}])).readings
    assert math.isnan(reading.value)


def test_a_version_above_ten_refuses_the_pack():
    assert "version 11" in refusal(cbor2.dumps([{-1: 11, 0: "pm10", 2: 3}])).detail


@pytest.mark.parametrize(
    ("payload", "words"),
    [
        (bytes.fromhex("82a2006170"), "not valid CBOR"),  # cut short
        (cbor2.dumps([{0: "pm10", 2: 3}]) + b"\x00", "1 bytes follow the SenML pack"),
        (cbor2.dumps({0: "pm10", 2: 3}), "must be a CBOR array, not an object"),
        (cbor2.dumps([]), "the SenML pack is empty"),
        (cbor2.dumps([[0, "pm10"]]), "record[0] must be a CBOR map, not a list"),
        (cbor2.dumps([{0: "pm10", 2: 3}, b"\x01"]), "record[1] must be a CBOR map, not a byte"),
        (b"\x81" * 1000 + b"\xa0", "not valid CBOR"),  # nested deeper than cbor2 allows
        (bytes.fromhex("81a1007f"), "not valid CBOR"),  # unterminated indefinite text
        (bytes.fromhex("81a10062c328"), "not valid CBOR"),  # a name that is not UTF-8
    ],
)
def test_a_pack_that_cannot_be_read_is_refused_as_a_bad_payload(payload: bytes, words: str):
    error = refusal(payload)
    assert error.reason == "bad_payload" and words in error.detail


@pytest.mark.parametrize("first", [0x80, 0x87, 0x98, 0x9F])
def test_it_sniffs_a_cbor_array_of_any_length_encoding(first: int):
    assert SenmlCborCodec(default_catalog()).sniffs(bytes([first]))


@pytest.mark.parametrize("payload", [b"", b"[", b"{", b"\xa1", b"\x7f", b"\xa0"])
def test_it_sniffs_nothing_else(payload: bytes):
    assert not SenmlCborCodec(default_catalog()).sniffs(payload)


def test_the_default_registry_sniffs_a_cbor_pack_as_senml_cbor():
    codec, decoded = default_registry(default_catalog()).decode(rfc_section6_bytes(), RECEIVED)
    assert codec == "senml_cbor" and len(decoded.readings) == 7


@pytest.mark.parametrize("content_type", ["application/senml+cbor", "application/sensml+cbor"])
def test_a_declared_cbor_content_type_is_honoured_even_for_a_json_looking_payload(content_type):
    registry = default_registry(default_catalog())
    with pytest.raises(PayloadError) as caught:
        registry.decode(b'[{"n": "pm10", "v": 3}]', RECEIVED, content_type)
    assert caught.value.reason == "bad_payload" and "CBOR" in caught.value.detail


def test_a_declared_json_content_type_is_honoured_for_a_cbor_looking_payload():
    registry = default_registry(default_catalog())
    with pytest.raises(PayloadError) as caught:
        registry.decode(rfc_section6_bytes(), RECEIVED, "application/senml+json")
    assert caught.value.reason == "bad_json"
