"""Checking one reading against the catalog and the accepted time window."""

import math

import pytest

from village_brain.core.catalog import default_catalog
from village_brain.core.records import Problem, RawReading, Reading
from village_brain.ingest.validate import TimeWindow, check_reading

NOW = 1_764_403_200_000
WINDOW = TimeWindow(max_clock_skew_ms=300_000, max_backfill_ms=7 * 86_400_000)


def check(sensor: str, value: object, unit: str | None = None, ts_ms: int | None = None):
    raw = RawReading(sensor=sensor, value=value, unit=unit, ts_ms=ts_ms)  # type: ignore[arg-type]
    return check_reading(raw, default_catalog(), "xiashan", "gauge-1", NOW, WINDOW)


def test_a_valid_reading_keeps_its_value_and_gets_the_receipt_time():
    assert check("water_level", 1.42) == Reading("xiashan", "gauge-1", "water_level", NOW, 1.42)


def test_a_reading_with_its_own_timestamp_keeps_it():
    assert check("water_level", 1.0, ts_ms=NOW - 60_000).ts_ms == NOW - 60_000


def test_centimetres_are_converted_to_the_canonical_metres():
    assert check("water_level", 142, unit="cm").value == pytest.approx(1.42)


def test_fahrenheit_is_converted_to_celsius():
    assert check("air_temperature", 68, unit="[degF]").value == pytest.approx(20.0)


def test_a_unit_alias_needs_no_conversion():
    assert check("air_temperature", 21.5, unit="°C").value == 21.5


def test_an_unconvertible_unit_is_rejected_naming_the_accepted_units():
    result = check("water_level", 3, unit="ft")
    assert result.reason == "unknown_unit"
    assert "'ft'" in result.detail and "cm" in result.detail


def test_an_unknown_sensor_type_is_rejected_by_name():
    result = check("water_levle", 1.0)
    assert result == Problem("unknown_sensor", "sensor type 'water_levle' is not in the catalog")


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_non_finite_numbers_are_rejected(value):
    assert check("water_level", value).reason == "not_finite"


@pytest.mark.parametrize("value", ["1.5", True, None, [1]])
def test_a_number_sensor_refuses_other_types(value):
    result = check("water_level", value)
    assert result.reason == "wrong_type"
    assert "expects a number" in result.detail


def test_a_value_outside_the_valid_range_is_rejected_with_the_range():
    result = check("water_ph", 15.2)
    assert result.reason == "out_of_range"
    assert "0 to 14" in result.detail


def test_the_range_is_checked_after_unit_conversion():
    result = check("water_level", 20_000, unit="cm")
    assert result.reason == "out_of_range"
    assert "200 m" in result.detail and "sent as 20000 cm" in result.detail


@pytest.mark.parametrize(
    ("value", "stored"), [(True, 1.0), (False, 0.0), ("on", 1.0), ("OFF", 0.0), (1, 1.0)]
)
def test_boolean_sensors_accept_booleans_numbers_and_words(value, stored):
    assert check("lamp_state", value).value == stored


def test_a_boolean_sensor_refuses_an_unknown_word():
    assert check("smoke", "maybe").reason == "wrong_type"


def test_a_timestamp_beyond_the_clock_skew_is_rejected():
    result = check("water_level", 1.0, ts_ms=NOW + 301_000)
    assert result.reason == "timestamp_future"
    assert "301 s ahead" in result.detail


def test_a_timestamp_within_the_clock_skew_is_accepted():
    assert isinstance(check("water_level", 1.0, ts_ms=NOW + 299_000), Reading)


def test_a_timestamp_older_than_the_backfill_limit_is_rejected():
    result = check("water_level", 1.0, ts_ms=NOW - 8 * 86_400_000)
    assert result.reason == "timestamp_too_old"


def test_an_absurd_timestamp_is_rejected_without_crashing():
    assert check("water_level", 1.0, ts_ms=10**18).reason == "timestamp_future"
