"""SenML packs (RFC 8428, PROTOCOL §4): base fields, names, times, values and refusals."""

import math
from pathlib import Path

import msgspec
import pytest

from village_brain.core.catalog import default_catalog
from village_brain.core.records import Decoded, PayloadError, Problem, RawReading
from village_brain.ingest.codecs.senml import SenmlCodec

RECEIVED = 1_764_403_260_000
RFC_EXAMPLES = Path(__file__).parents[1] / "fixtures" / "senml"


def decode(pack: object) -> Decoded:
    payload = pack if isinstance(pack, bytes) else msgspec.json.encode(pack)
    return SenmlCodec(default_catalog()).decode(payload, RECEIVED)


def decode_example(name: str) -> Decoded:
    return decode((RFC_EXAMPLES / name).read_bytes())


def refusal(pack: object) -> PayloadError:
    with pytest.raises(PayloadError) as caught:
        decode(pack)
    return caught.value


# RFC 8428 §5.1 examples, as published.


def test_rfc_single_data_point_is_read_now_under_the_name_s_last_part():
    assert decode_example("single-datapoint.json") == Decoded(
        [RawReading("10e2073a01080063", 23.1, "Cel", None)], []
    )


def test_rfc_multiple_data_points_join_base_name_and_name():
    assert decode_example("multiple-datapoints.json") == Decoded(
        [RawReading("battery_voltage", 120.1, "V", None), RawReading("current", 1.2, "A", None)],
        [],
    )


def test_rfc_multiple_data_points_with_base_time_step_back_second_by_second():
    base_ms = 1_276_020_076_001
    assert decode_example("multiple-datapoints-timed.json") == Decoded(
        [
            RawReading("battery_voltage", 120.1, "V", base_ms),
            *(
                RawReading("current", value, "A", base_ms - seconds * 1000)
                for value, seconds in [(1.2, 5), (1.3, 4), (1.4, 3), (1.5, 2), (1.6, 1), (1.7, 0)]
            ),
        ],
        [],
    )


MEASUREMENTS_MS = 1_320_067_464_000
MEASUREMENTS = [
    RawReading("10e2073a01080063", value, unit, MEASUREMENTS_MS + seconds * 1000)
    for seconds, unit, value in [
        (0, "%RH", 20.0),
        (0, "lon", 24.30621),
        (0, "lat", 60.07965),
        (60, "%RH", 20.3),
        (60, "lon", 24.30622),
        (60, "lat", 60.07965),
        (120, "%RH", 20.7),
        (120, "lon", 24.30623),
        (120, "lat", 60.07966),
        (150, "%EL", 98.0),
        (180, "%RH", 21.2),
        (180, "lon", 24.30628),
        (180, "lat", 60.07967),
    ]
]


def test_rfc_multiple_measurements_carry_base_time_and_base_unit_forward():
    assert decode_example("multiple-measurements.json") == Decoded(MEASUREMENTS, [])


def test_rfc_resolved_data_gives_the_same_readings_as_the_pack_it_resolves():
    assert decode_example("resolved-data.json") == Decoded(MEASUREMENTS, [])


def test_rfc_multiple_data_types_pass_text_and_booleans_and_refuse_only_the_data_value():
    decoded = decode_example("multiple-data-types.json")
    assert decoded.readings == [
        RawReading("air_temperature", 23.1, "Cel", None),
        RawReading("label", "Machine Room", None, None),
        RawReading("open", False, None, None),
    ]
    assert [(p.reason, p.sensor) for p in decoded.problems] == [("wrong_type", "nfv-reader")]
    assert "vd" in decoded.problems[0].detail


def test_rfc_collection_of_resources_replaces_base_name_but_keeps_base_time():
    ts = 1_320_078_429_000
    assert decode_example("collection-of-resources.json") == Decoded(
        [
            RawReading("air_temperature", 25.2, "Cel", ts),
            RawReading("air_humidity", 30.0, "%RH", ts),
            RawReading("air_temperature", 12.3, "Cel", ts),
            RawReading("air_humidity", 67.0, "%RH", ts),
        ],
        [],
    )


def test_rfc_thermostat_setting_skips_the_record_of_base_fields_only():
    assert decode_example("actuator-thermostat.json") == Decoded(
        [
            RawReading("air_temperature", 23.1, "Cel", None),
            RawReading("heat", 1.0, "/", None),
            RawReading("fan", 0.0, "/", None),
        ],
        [],
    )


def test_rfc_lights_on_use_the_last_part_of_an_address_name():
    ts = 1_320_078_429_000
    assert decode_example("actuator-lights-on.json") == Decoded(
        [RawReading("3", 1.0, "/", ts), RawReading("4", 1.0, "/", ts)], []
    )


def test_rfc_lights_off_resolves_a_fraction_of_a_second_to_whole_milliseconds():
    ts = 1_320_078_429_000
    decoded = decode_example("actuator-lights-off.json")
    assert [(r.sensor, r.value, r.ts_ms) for r in decoded.readings] == [
        ("3", 0.5, ts),
        ("4", 0.5, ts),
        ("3", 0.0, ts + 100),
        ("4", 0.0, ts + 100),
    ]


# Times.


def test_a_relative_time_counts_back_from_the_time_of_receipt():
    decoded = decode([{"n": "water_level", "t": -60, "v": 1.4}])
    assert decoded.readings[0].ts_ms == RECEIVED - 60_000


def test_a_relative_base_time_and_time_add_up_before_counting_from_receipt():
    decoded = decode([{"bt": -60, "n": "water_level", "t": 0.5, "v": 1.4}])
    assert decoded.readings[0].ts_ms == RECEIVED - 59_500


def test_no_time_at_all_means_now_and_is_left_for_the_pipeline_to_stamp():
    assert decode([{"n": "water_level", "v": 1.4}]).readings[0].ts_ms is None


def test_an_absolute_time_in_seconds_becomes_epoch_milliseconds():
    decoded = decode([{"n": "water_level", "t": 1764403200.25, "v": 1.4}])
    assert decoded.readings[0].ts_ms == 1_764_403_200_250


def test_a_time_that_is_not_a_number_is_a_bad_timestamp_and_the_rest_decode():
    decoded = decode([{"n": "pm10", "t": "now", "v": 3}, {"n": "rssi", "v": -87}])
    assert [(p.reason, p.sensor) for p in decoded.problems] == [("bad_timestamp", "pm10")]
    assert [r.sensor for r in decoded.readings] == ["rssi"]


def test_an_integer_time_too_big_for_a_double_is_a_bad_timestamp():
    (problem,) = decode(b'[{"n": "pm10", "v": 3, "t": 1' + b"0" * 400 + b"}]").problems
    assert (problem.reason, problem.sensor) == ("bad_timestamp", "pm10")


def test_a_time_whose_milliseconds_overflow_a_double_is_a_bad_timestamp():
    (problem,) = decode([{"n": "pm10", "v": 3, "t": 1e308}]).problems
    assert (problem.reason, problem.sensor) == ("bad_timestamp", "pm10")


# Names, units and values.


def test_a_name_is_mapped_to_its_sensor_type_whatever_its_case():
    decoded = decode([{"bn": "urn:dev:ow:10e2073a01080063/", "n": "Temperature", "v": 21}])
    assert decoded.readings[0].sensor == "air_temperature"


def test_a_sensor_type_id_is_its_own_senml_name():
    assert decode([{"n": "soil_temperature", "v": 12}]).readings[0].sensor == "soil_temperature"


def test_an_unknown_name_keeps_its_last_part_for_the_validator_to_refuse():
    assert decode([{"n": "urn:dev:mac:0024befffe804ff1:Current", "v": 1}]).readings[0].sensor == (
        "Current"
    )


def test_a_name_with_no_last_part_is_an_unknown_sensor_problem():
    (problem,) = decode([{"bn": "2001:db8::2/", "v": 1}]).problems
    assert problem.reason == "unknown_sensor" and "'2001:db8::2/'" in problem.detail


def test_a_base_name_carries_to_later_records_until_replaced():
    pack = [
        {"bn": "gauge/", "n": "temp", "v": 1},
        {"n": "humidity", "v": 2},
        {"bn": "pm10", "v": 3},
    ]
    assert [r.sensor for r in decode(pack).readings] == ["air_temperature", "air_humidity", "pm10"]


def test_a_base_unit_applies_to_records_without_their_own_unit():
    pack = [{"bu": "cm", "n": "water_level", "v": 140}, {"n": "rainfall", "u": "mm", "v": 2}]
    assert [r.unit for r in decode(pack).readings] == ["cm", "mm"]


def test_a_base_value_is_added_to_each_value():
    pack = [{"bv": 100, "n": "water_level", "v": 0.5}, {"n": "water_level", "v": -0.25}]
    assert [r.value for r in decode(pack).readings] == [100.5, 99.75]


def test_a_boolean_value_stays_a_boolean_and_a_string_value_stays_text():
    decoded = decode([{"n": "smoke", "vb": True}, {"n": "lamp", "vs": "on"}])
    assert decoded.readings == [RawReading("smoke", True), RawReading("lamp_state", "on")]


def test_a_nan_value_comes_through_as_a_float_for_the_validator_to_refuse():
    decoded = decode(b'[{"n": "pm10", "v": NaN}, {"n": "rssi", "v": -87}]')
    assert math.isnan(decoded.readings[0].value) and decoded.readings[1].value == -87.0


def test_a_sum_without_a_value_is_a_wrong_type_problem_saying_sums_are_not_supported():
    (problem,) = decode([{"n": "rainfall", "s": 12.5}]).problems
    assert (problem.reason, problem.sensor) == ("wrong_type", "rainfall")
    assert "sum" in problem.detail


def test_a_record_with_no_value_at_all_is_a_wrong_type_problem_saying_so():
    (problem,) = decode([{"n": "rainfall", "u": "mm"}]).problems
    assert (problem.reason, problem.sensor) == ("wrong_type", "rainfall")
    assert "no value" in problem.detail


def test_a_record_with_two_values_is_a_wrong_type_problem_naming_them():
    (problem,) = decode([{"n": "smoke", "v": 1, "vb": True}]).problems
    assert problem.reason == "wrong_type" and "v, vb" in problem.detail


def test_a_value_of_the_wrong_json_type_is_a_wrong_type_problem():
    decoded = decode([{"n": "pm10", "v": "3"}, {"n": "smoke", "vb": 1}, {"n": "rssi", "v": -87}])
    assert [(p.reason, p.sensor) for p in decoded.problems] == [
        ("wrong_type", "pm10"),
        ("wrong_type", "smoke"),
    ]
    assert [r.sensor for r in decoded.readings] == ["rssi"]


def test_a_unit_that_is_not_text_is_a_wrong_type_problem():
    (problem,) = decode([{"n": "pm10", "u": 3, "v": 3}]).problems
    assert (problem.reason, problem.sensor) == ("wrong_type", "pm10")


def test_fields_this_server_does_not_know_are_ignored():
    assert decode([{"n": "pm10", "v": 3, "ut": 600, "foo": "bar"}]).readings == [
        RawReading("pm10", 3.0)
    ]


# Whole-pack refusals.


def test_a_field_ending_in_underscore_refuses_the_pack_naming_the_field():
    error = refusal([{"n": "pm10", "v": 3}, {"n": "rssi", "v": -87, "crit_": 1}])
    assert error.reason == "bad_payload" and "'crit_'" in error.detail


def test_a_version_above_ten_refuses_the_pack():
    error = refusal([{"bver": 11, "n": "pm10", "v": 3}])
    assert error.reason == "bad_payload" and "11" in error.detail


def test_a_record_that_is_not_an_object_refuses_the_pack():
    error = refusal([{"n": "pm10", "v": 3}, "rssi"])
    assert error.reason == "bad_payload" and "record[1]" in error.detail


def test_a_base_field_of_the_wrong_type_refuses_the_pack_naming_it():
    error = refusal([{"bt": "2025-11-29T08:00:00Z", "n": "pm10", "v": 3}])
    assert error.reason == "bad_payload" and "'bt'" in error.detail


@pytest.mark.parametrize("pack", [{"n": "pm10", "v": 3}, []])
def test_anything_but_a_non_empty_array_is_a_bad_payload(pack: object):
    assert refusal(pack).reason == "bad_payload"


def test_broken_json_is_refused_as_bad_json():
    assert refusal(b'[{"n": "pm10", "v": 3}').reason == "bad_json"


def test_the_protocol_s_example_pack_decodes_to_its_three_readings():
    pack = b"""[
      {"bn": "urn:dev:ow:10e2073a01080063:", "bt": 1764403200, "bu": "Cel", "n": "temperature",
       "v": 23.1},
      {"n": "humidity", "u": "%RH", "v": 67},
      {"n": "water_level", "u": "cm", "v": 142, "t": -60}
    ]"""
    assert decode(pack).readings == [
        RawReading("air_temperature", 23.1, "Cel", 1_764_403_200_000),
        RawReading("air_humidity", 67.0, "%RH", 1_764_403_200_000),
        RawReading("water_level", 142.0, "cm", 1_764_403_140_000),
    ]


def test_it_sniffs_a_json_array_and_nothing_else():
    codec = SenmlCodec(default_catalog())
    assert codec.sniffs(b'\n [{"n": "pm10"}]') and not codec.sniffs(b'{"values": {}}')


def test_problems_name_the_record_they_come_from():
    (problem,) = decode([{"n": "pm10", "v": 3}, {"n": "rssi", "vd": "aGk"}]).problems
    assert problem == Problem(
        "wrong_type", "record[1] ('rssi'): data values (vd) are not supported", "rssi"
    )
