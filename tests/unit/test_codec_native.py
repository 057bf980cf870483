"""The native telemetry format (PROTOCOL §3): what a device sends, what readings come out."""

import math

import msgspec
import pytest

from village_brain.core.records import Decoded, PayloadError, Problem, RawReading
from village_brain.ingest.codecs.native import NativeCodec

RECEIVED = 1_764_403_260_000
TS = 1_764_403_200_000


def decode(message: object) -> Decoded:
    payload = message if isinstance(message, bytes) else msgspec.json.encode(message)
    return NativeCodec().decode(payload, RECEIVED)


def refusal(message: object) -> PayloadError:
    with pytest.raises(PayloadError) as caught:
        decode(message)
    return caught.value


def test_a_plain_value_has_no_time_so_it_gets_the_time_of_receipt_later():
    assert decode({"values": {"water_level": 1.42}}).readings == [
        RawReading("water_level", 1.42, None, None)
    ]


def test_an_integer_value_comes_out_as_a_float():
    (reading,) = decode({"values": {"rssi": -87}}).readings
    assert reading.value == -87.0 and type(reading.value) is float


def test_booleans_and_words_stay_as_sent_for_the_validator_to_judge():
    decoded = decode({"values": {"smoke": False, "lamp_state": "on"}})
    assert [r.value for r in decoded.readings] == [False, "on"]


def test_the_message_ts_applies_to_values_without_their_own():
    decoded = decode({"ts": TS, "values": {"water_level": 1.42, "rssi": -87}})
    assert [r.ts_ms for r in decoded.readings] == [TS, TS]


def test_a_value_s_own_ts_beats_the_message_ts():
    decoded = decode({"ts": TS, "values": {"rssi": {"v": -87, "ts": TS - 5000}}})
    assert decoded.readings[0].ts_ms == TS - 5000


def test_an_rfc3339_ts_with_an_offset_becomes_epoch_milliseconds():
    decoded = decode({"ts": "2025-11-29T16:00:00.250+08:00", "values": {"rssi": -87}})
    assert decoded.readings[0].ts_ms == TS + 250


def test_a_value_object_carries_its_unit():
    decoded = decode({"values": {"rainfall": {"v": 1.2, "u": "cm"}}})
    assert decoded.readings == [RawReading("rainfall", 1.2, "cm", None)]


def test_batch_readings_come_out_with_their_entry_s_ts():
    message = {
        "batch": [
            {"ts": TS - 300_000, "values": {"water_level": 1.40}},
            {"ts": TS - 600_000, "values": {"water_level": 1.39}},
        ]
    }
    assert decode(message).readings == [
        RawReading("water_level", 1.40, None, TS - 300_000),
        RawReading("water_level", 1.39, None, TS - 600_000),
    ]


def test_a_batch_entry_without_ts_takes_the_message_ts():
    decoded = decode({"ts": TS, "batch": [{"values": {"water_level": 1.40}}]})
    assert decoded.readings[0].ts_ms == TS


def test_a_value_s_own_ts_beats_its_batch_entry_s_ts():
    entry = {"ts": TS - 300_000, "values": {"rssi": {"v": -90, "ts": TS - 299_000}}}
    assert decode({"batch": [entry]}).readings[0].ts_ms == TS - 299_000


def test_values_and_batch_together_give_all_their_readings():
    message = {"ts": TS, "values": {"rssi": -87}, "batch": [{"ts": 1, "values": {"rssi": -90}}]}
    assert [(r.value, r.ts_ms) for r in decode(message).readings] == [(-87.0, TS), (-90.0, 1)]


def test_a_wrong_typed_value_is_a_problem_and_the_others_still_decode():
    decoded = decode({"values": {"water_level": [1.4], "rssi": -87, "pm10": None}})
    assert [r.sensor for r in decoded.readings] == ["rssi"]
    assert [(p.reason, p.sensor) for p in decoded.problems] == [
        ("wrong_type", "water_level"),
        ("wrong_type", "pm10"),
    ]


def test_a_wrong_type_problem_says_what_was_sent():
    (problem,) = decode({"values": {"pm10": None}}).problems
    assert "'pm10'" in problem.detail and "null" in problem.detail


def test_a_value_object_without_v_is_a_wrong_type_problem():
    (problem,) = decode({"values": {"rssi": {"u": "dBm"}}}).problems
    assert problem == Problem("wrong_type", "'rssi' is an object without 'v'", "rssi")


def test_a_unit_that_is_not_text_is_a_wrong_type_problem():
    (problem,) = decode({"values": {"rainfall": {"v": 1, "u": 10}}}).problems
    assert (problem.reason, problem.sensor) == ("wrong_type", "rainfall")


def test_a_ts_without_a_zone_is_a_bad_timestamp_problem():
    decoded = decode({"values": {"rssi": {"v": -87, "ts": "2025-11-29T08:00:00"}, "pm10": 3}})
    assert [(p.reason, p.sensor) for p in decoded.problems] == [("bad_timestamp", "rssi")]
    assert [r.sensor for r in decoded.readings] == ["pm10"]


@pytest.mark.parametrize("ts", [True, 1764403200.5, "1764403200000", {"s": 1}])
def test_a_ts_that_is_neither_integer_ms_nor_rfc3339_is_a_bad_timestamp(ts: object):
    (problem,) = decode({"values": {"rssi": {"v": -87, "ts": ts}}}).problems
    assert (problem.reason, problem.sensor) == ("bad_timestamp", "rssi")


def test_a_bad_message_ts_refuses_only_the_readings_relying_on_it():
    decoded = decode({"ts": "yesterday", "values": {"pm10": 3, "rssi": {"v": -87, "ts": TS}}})
    assert decoded.readings == [RawReading("rssi", -87.0, None, TS)]
    assert [(p.reason, p.sensor) for p in decoded.problems] == [("bad_timestamp", "pm10")]


def test_a_malformed_batch_entry_is_a_problem_and_the_other_entries_decode():
    decoded = decode({"batch": [{"ts": TS}, 7, {"ts": TS, "values": {"rssi": -87}}]})
    assert [r.sensor for r in decoded.readings] == ["rssi"]
    assert [p.reason for p in decoded.problems] == ["bad_payload", "bad_payload"]
    assert "batch[1]" in decoded.problems[1].detail


def test_nan_and_infinity_literals_come_through_as_floats_without_costing_the_rest():
    payload = b'{"values": {"pm10": NaN, "pm2_5": Infinity, "rssi": -Infinity, "smoke": false}}'
    values = [r.value for r in decode(payload).readings]
    assert math.isnan(values[0]) and values[1:] == [math.inf, -math.inf, False]


def test_an_integer_too_big_for_a_double_becomes_infinity_for_the_validator_to_refuse():
    assert decode(b'{"values": {"pm10": 1' + b"0" * 400 + b"}}").readings[0].value == math.inf


def test_broken_json_is_refused_as_bad_json_saying_where():
    error = refusal(b'{"values": {"pm10": 3,}}')
    assert error.reason == "bad_json" and "byte" in error.detail


def test_a_message_with_neither_values_nor_batch_is_a_bad_payload_naming_both():
    error = refusal({"ts": TS, "value": {"pm10": 3}})
    assert error.reason == "bad_payload"
    assert "'values'" in error.detail and "'batch'" in error.detail


def test_values_that_are_not_an_object_are_a_bad_payload_naming_the_key():
    error = refusal({"values": [1.4, 3.6]})
    assert error.reason == "bad_payload" and "'values'" in error.detail


def test_a_batch_that_is_not_a_list_is_a_bad_payload_naming_the_key():
    error = refusal({"batch": {"ts": TS, "values": {}}})
    assert error.reason == "bad_payload" and "'batch'" in error.detail


def test_a_json_array_is_not_a_native_message():
    assert refusal([{"n": "temp", "v": 1}]).reason == "bad_payload"


def test_other_top_level_keys_are_ignored():
    decoded = decode({"values": {"pm10": 3}, "fw": "1.2.0", "seq": 41})
    assert decoded == Decoded([RawReading("pm10", 3.0)], [])


def test_the_protocol_s_complete_example_decodes_to_every_reading_with_the_right_time():
    payload = b"""{
      "ts": "2026-11-29T16:00:00+08:00",
      "values": {
        "water_level": 1.42,
        "rainfall": {"v": 1.2, "u": "cm"},
        "rssi": {"v": -87, "ts": 1764403195000},
        "lamp_state": "on"
      },
      "batch": [
        {"ts": 1764402900000, "values": {"water_level": 1.40}},
        {"ts": 1764402600000, "values": {"water_level": 1.39, "rainfall": 0.4}}
      ]
    }"""
    message_ts = 1_795_939_200_000
    assert decode(payload) == Decoded(
        [
            RawReading("water_level", 1.42, None, message_ts),
            RawReading("rainfall", 1.2, "cm", message_ts),
            RawReading("rssi", -87.0, None, 1_764_403_195_000),
            RawReading("lamp_state", "on", None, message_ts),
            RawReading("water_level", 1.40, None, 1_764_402_900_000),
            RawReading("water_level", 1.39, None, 1_764_402_600_000),
            RawReading("rainfall", 0.4, None, 1_764_402_600_000),
        ],
        [],
    )


@pytest.mark.parametrize("payload", [b'{"values": {}}', b' \r\n\t{"values": {}}'])
def test_it_sniffs_a_json_object_even_after_whitespace(payload: bytes):
    assert NativeCodec().sniffs(payload)


@pytest.mark.parametrize("payload", [b"[]", b"", b"   ", b"on"])
def test_it_does_not_sniff_anything_but_a_json_object(payload: bytes):
    assert not NativeCodec().sniffs(payload)
