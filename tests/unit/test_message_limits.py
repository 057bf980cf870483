"""What one message can do is bounded: nesting depth, numbers and times too large to use."""

import json

import pytest

from village_brain.core.catalog import default_catalog
from village_brain.core.records import PayloadError, Problem, RawReading
from village_brain.ingest.codecs.jsontext import MAX_DEPTH, describe, load_json, nested_deeper_than
from village_brain.ingest.codecs.native import NativeCodec
from village_brain.ingest.codecs.senml import SenmlCodec
from village_brain.ingest.validate import TimeWindow, check_reading

RECEIVED = 1_764_403_260_000
HUGE = 10**400


def arrays(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def objects(depth: int, key: str = "a") -> bytes:
    return ("{" + json.dumps(key) + ": ").encode() * depth + b"1" + b"}" * depth


@pytest.mark.parametrize("nested", [arrays, objects])
def test_nesting_up_to_the_limit_is_allowed_and_one_level_more_is_not(nested):
    assert not nested_deeper_than(nested(MAX_DEPTH), MAX_DEPTH)
    assert nested_deeper_than(nested(MAX_DEPTH + 1), MAX_DEPTH)


def test_brackets_inside_strings_do_not_count_as_nesting():
    payload = json.dumps({"values": {"[[[[": "]" * 100 + "[" * 100}, "u": ["{" * 50]}).encode()
    assert not nested_deeper_than(payload, 3)


def test_escaped_quotes_do_not_hide_nesting_from_the_check():
    assert nested_deeper_than(objects(MAX_DEPTH + 1, key='a"[\\'), MAX_DEPTH)
    assert not nested_deeper_than(objects(MAX_DEPTH, key='a"]\\'), MAX_DEPTH)


def test_brackets_that_never_close_count_as_nesting():
    assert nested_deeper_than(b"[" * 1000, MAX_DEPTH)
    assert nested_deeper_than(b'{"a": [1, 2' + b"[" * 40, MAX_DEPTH)


def test_a_thousand_levels_are_refused_as_too_deep_not_a_crash():
    with pytest.raises(PayloadError) as caught:
        load_json(b'{"values": {"rssi": ' + arrays(1000) + b"}}")
    assert caught.value.reason == "too_deep" and str(MAX_DEPTH) in caught.value.detail


def test_too_deep_is_refused_even_when_the_slow_decoder_would_be_needed():
    with pytest.raises(PayloadError, match="levels deep"):
        load_json(b'{"values": {"rssi": NaN, "x": ' + arrays(1000) + b"}}")


def test_an_integer_of_hundreds_of_digits_is_described_without_printing_it():
    assert describe(HUGE) == "an integer of about 401 digits"
    assert describe(10**5000).startswith("an integer of about 5,001 digits")


def test_a_native_time_of_hundreds_of_digits_refuses_only_its_readings():
    payload = json.dumps(
        {"values": {"rssi": -80}, "batch": [{"ts": HUGE, "values": {"rssi": -81}}]}
    ).encode()
    decoded = NativeCodec().decode(payload, RECEIVED)
    assert [r.value for r in decoded.readings] == [-80.0]
    [problem] = decoded.problems
    assert problem.reason == "bad_timestamp" and "too far from 1970" in problem.detail


@pytest.mark.parametrize(
    "record",
    [
        {"n": "rssi", "v": -80, "t": 1e306},
        {"n": "rssi", "v": -80, "t": -1e306},
        {"bt": 1e306, "n": "rssi", "v": -80},
        {"n": "rssi", "v": -80, "t": HUGE},
    ],
)
def test_a_senml_time_too_large_for_milliseconds_is_a_bad_timestamp(record):
    decoded = SenmlCodec(default_catalog()).decode(json.dumps([record]).encode(), RECEIVED)
    assert decoded.readings == []
    assert [p.reason for p in decoded.problems] == ["bad_timestamp"]


def test_a_senml_version_of_hundreds_of_digits_is_refused_readably():
    with pytest.raises(PayloadError, match="about 401 digits"):
        SenmlCodec(default_catalog()).decode(json.dumps([{"bver": HUGE}]).encode(), RECEIVED)


@pytest.mark.parametrize("value", [1e308, float(10**308)])
def test_a_value_that_overflows_when_converted_is_not_finite(value):
    raw = RawReading("lamp_power", value, "kW", None)
    window = TimeWindow(300_000, 7 * 86_400_000)
    result = check_reading(raw, default_catalog(), "x", "lamp-1", RECEIVED, window)
    assert isinstance(result, Problem) and result.reason == "not_finite"
    assert "too large to convert" in result.detail


def test_a_reading_time_of_thousands_of_digits_is_refused_readably():
    window = TimeWindow(300_000, 7 * 86_400_000)
    raw = RawReading("rssi", -80.0, None, 10**5000)
    result = check_reading(raw, default_catalog(), "x", "d", RECEIVED, window)
    assert isinstance(result, Problem) and result.reason == "timestamp_future"
    assert "about 5,001 digits" in result.detail


def test_an_rfc3339_time_past_the_year_9999_is_a_bad_timestamp():
    payload = b'{"ts": "9999-12-31T23:59:59-14:00", "values": {"rssi": -80}}'
    [problem] = NativeCodec().decode(payload, RECEIVED).problems
    assert problem.reason == "bad_timestamp" and "too far from 1970" in problem.detail
