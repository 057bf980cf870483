"""Zigbee2MQTT messages, as its documentation shows them, become our readings and presence."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from village_brain.core.catalog import default_catalog
from village_brain.core.records import RawReading
from village_brain.ingest.sources.registry import build_adapter

FIXTURES = tomllib.loads(
    (Path(__file__).parents[1] / "fixtures" / "adapters" / "zigbee2mqtt.toml").read_text("utf-8")
)["message"]
NOW_MS = 1_795_939_200_000


def _adapter(**options):
    raw = {"adapter": "zigbee2mqtt", "village": "xiashan", **options}
    return build_adapter(raw, default_catalog(), "ingest.sources[0]")


def _sample(name: str) -> tuple[str, bytes]:
    message = next(m for m in FIXTURES if m["name"].startswith(name))
    return message["topic"], message["payload"].encode()


def _translate(name: str, **options):
    topic, payload = _sample(name)
    return _adapter(**options).translate(topic, payload, NOW_MS, None)


def test_it_subscribes_under_the_base_topic():
    assert _adapter(base_topic="z2m").subscriptions() == ["z2m/#"]


def test_a_climate_sensor_gives_every_quantity_in_its_documented_unit():
    [report] = _translate("climate sensor").reports
    ts = 1_552_062_497_000  # 2019-03-08T19:28:17+03:00
    assert (report.device, report.village, report.foreign_id) == (
        "0x00158d00022cb428",
        "xiashan",
        "0x00158d00022cb428",
    )
    assert report.readings == [
        RawReading("air_temperature", 29.1, "Cel", ts),
        RawReading("link_quality", 55.0, "lqi", ts),
        RawReading("air_humidity", 34.6, "%RH", ts),
        RawReading("air_pressure", 987.1, "hPa", ts),
        RawReading("battery_level", 100.0, "%", ts),
        RawReading("battery_voltage", 3035.0, "mV", ts),
    ]


def test_epoch_milliseconds_last_seen_is_the_reading_time():
    [report] = _translate("smoke alarm").reports
    assert {r.ts_ms for r in report.readings} == {1_573_393_389_829}
    assert RawReading("smoke", True, None, 1_573_393_389_829) in report.readings


def test_fields_that_are_not_measurements_are_skipped_and_listed():
    [report] = _translate("smoke alarm").reports
    assert report.skipped == ["sensitivity"]


def test_a_number_sent_as_text_is_read_as_a_number():
    [report] = _translate("water leak").reports
    assert RawReading("battery_level", 80.0, "%", None) in report.readings
    assert RawReading("water_leak", True, None, None) in report.readings


def test_raw_illuminance_is_ignored_when_lux_is_given_beside_it():
    [report] = _translate("Zigbee2MQTT 1.x light sensor").reports
    assert [r for r in report.readings if r.sensor == "illuminance"] == [
        RawReading("illuminance", 158.0, "lx", None)
    ]


def test_a_plugs_voltage_is_the_mains_in_volts():
    payload = b'{"power": 12.5, "voltage": 229.8, "current": 0.06, "energy": 1.25}'
    [report] = _adapter().translate("zigbee2mqtt/lamp_plug", payload, NOW_MS, None).reports
    assert RawReading("mains_voltage", 229.8, "V", None) in report.readings
    assert RawReading("active_power", 12.5, "W", None) in report.readings


@pytest.mark.parametrize("name", ["availability, 2.x JSON", "availability, legacy"])
def test_availability_in_either_form_is_presence(name):
    [report] = _translate(name).reports
    assert report.presence in ("online", "offline") and not report.readings


def test_a_friendly_name_with_slashes_becomes_one_device_that_keeps_its_name():
    [report] = _translate("availability, legacy").reports
    assert report.foreign_id == "kitchen/floor_light"
    assert report.device.startswith("kitchen-floor_light-") and report.presence == "online"


def test_bridge_messages_and_commands_are_quiet():
    adapter = _adapter()
    for topic in ("zigbee2mqtt/bridge/state", "zigbee2mqtt/bridge/logging", "zigbee2mqtt/lamp/set"):
        translation = adapter.translate(topic, b'{"state":"online"}', NOW_MS, None)
        assert translation.quiet and not translation.reports and not translation.problems


def test_a_button_action_is_an_event():
    payload = b'{"action": "single", "battery": 90}'
    [report] = _adapter().translate("zigbee2mqtt/button", payload, NOW_MS, None).reports
    assert report.event is not None and report.event.type == "single"


def test_a_field_mapping_override_maps_a_relay_state_to_the_lamp():
    payload = b'{"state": "ON"}'
    adapter = _adapter(fields={"state": "lamp_state"})
    [report] = adapter.translate("zigbee2mqtt/lamp", payload, NOW_MS, None).reports
    assert report.readings == [RawReading("lamp_state", "ON", None, None)]


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"ON", "bad_json"),
        (b"[1, 2]", "bad_payload"),
        (b'{"temperature": 20, "last_seen": "yesterday"}', "bad_timestamp"),
    ],
)
def test_unreadable_states_are_refused_with_a_reason(payload, reason):
    translation = _adapter().translate("zigbee2mqtt/dev", payload, NOW_MS, None)
    assert [p.reason for p in translation.problems] == [reason] and not translation.reports


def test_a_bad_availability_word_is_refused():
    translation = _adapter().translate("zigbee2mqtt/dev/availability", b"maybe", NOW_MS, None)
    assert [p.reason for p in translation.problems] == ["bad_payload"]


def test_an_override_naming_an_unknown_sensor_type_is_a_configuration_error():
    with pytest.raises(ValueError, match=r"ingest.sources\[0\] \(zigbee2mqtt\).*water_temprature"):
        _adapter(fields={"temperature": "water_temprature"})


def test_an_unknown_option_is_a_configuration_error():
    with pytest.raises(ValueError, match="base_topik"):
        _adapter(base_topik="z2m")
