"""ESPHome's plain-text state topics become our readings, and its status topic presence."""

from __future__ import annotations

import pytest

from village_brain.core.catalog import default_catalog
from village_brain.core.records import RawReading
from village_brain.ingest.sources.registry import build_adapter

from support.adapter_fixtures import fixture_adapter, load_fixture, outcomes

FIXTURE = load_fixture("esphome")
MESSAGES = FIXTURE["message"]
NOW_MS = 1_795_939_200_000


def _adapter(**options):
    raw = {"adapter": "esphome", "village": "xiashan", **options}
    return build_adapter(raw, default_catalog(), "ingest.sources[0]")


def _translate(topic: str, payload: bytes, **options):
    return _adapter(**options).translate(topic, payload, NOW_MS, None)


def _report(topic: str, payload: bytes, **options):
    [report] = _translate(topic, payload, **options).reports
    return report


@pytest.mark.parametrize("message", MESSAGES, ids=[m["name"] for m in MESSAGES])
def test_each_fixture_message_gives_exactly_its_expected_entries(message):
    shown = outcomes(fixture_adapter(FIXTURE), message)
    assert not [entry for entry in shown if "refused" in entry]
    for expected in message.get("expect", []):
        assert expected in shown


def test_by_default_it_reads_every_node_under_its_own_name():
    assert _adapter().subscriptions() == [
        "+/sensor/+/state",
        "+/binary_sensor/+/state",
        "+/switch/+/state",
        "+/status",
        "+/light/+/state",  # entities that take commands (docs/control.md)
        "+/cover/+/position/state",
    ]


def test_it_subscribes_under_every_listed_prefix():
    adapter = _adapter(prefixes=["pump-house", "xiashan/esphome/+"])
    assert "pump-house/sensor/+/state" in adapter.subscriptions()
    assert "xiashan/esphome/+/status" in adapter.subscriptions()


def test_a_sensor_state_is_a_number_in_the_tables_unit():
    report = _report("weather/sensor/temperature/state", b"-3.20")
    assert (report.device, report.foreign_id) == ("weather", "weather")
    assert report.readings == [RawReading("air_temperature", -3.2, "Cel", None)]


def test_an_entity_named_after_a_sensor_type_is_that_type():
    report = _report("gauge/sensor/water_level/state", b"1.42")
    assert report.readings == [RawReading("water_level", 1.42, None, None)]


def test_an_unknown_entity_is_skipped_and_listed():
    report = _report("gauge/sensor/uptime/state", b"3600")
    assert not report.readings and report.skipped == ["uptime"]


@pytest.mark.parametrize("payload", [b"nan", b"NaN", b"None", b"", b"-nan"])
def test_a_missing_value_is_skipped_not_refused(payload):
    report = _report("weather/sensor/temperature/state", payload)
    assert not report.readings and report.skipped == ["temperature"]


def test_a_state_that_is_no_number_reaches_the_validator_as_text():
    report = _report("weather/sensor/temperature/state", b"warm")
    assert report.readings == [RawReading("air_temperature", "warm", "Cel", None)]


def test_a_binary_sensor_state_is_its_on_off_word():
    report = _report("yard/binary_sensor/motion/state", b"OFF")
    assert report.readings == [RawReading("occupancy", "OFF", None, None)]


def test_a_switch_mapped_by_the_source_is_the_lamp():
    report = _report("lamp-3/switch/relay/state", b"ON", fields={"relay": "lamp_state"})
    assert report.readings == [RawReading("lamp_state", "ON", None, None)]


def test_a_multi_level_prefix_names_the_device_by_the_levels_its_wildcard_matched():
    topic = "xiashan/esphome/pump-1/sensor/temperature/state"
    report = _report(topic, b"12.5", prefixes=["xiashan/esphome/+"])
    assert (report.device, report.foreign_id) == ("pump-1", "pump-1")


def test_a_literal_multi_level_prefix_is_one_device_named_by_the_whole_prefix():
    report = _report("home/living_room/status", b"online", prefixes=["home/living_room"])
    assert report.foreign_id == "home/living_room"
    assert report.device.startswith("home-living_room-") and report.presence == "online"


def test_one_nodes_entity_can_be_mapped_without_touching_the_others():
    fields = {"pond/temperature": "soil_temperature"}
    pond = _report("pond/sensor/temperature/state", b"14.0", fields=fields)
    yard = _report("yard/sensor/temperature/state", b"21.0", fields=fields)
    assert pond.readings[0].sensor == "soil_temperature"
    assert yard.readings[0].sensor == "air_temperature"


def test_a_source_can_ignore_an_entity_named_after_a_sensor_type():
    report = _report("gauge/sensor/water_level/state", b"1.42", fields={"water_level": False})
    assert not report.readings and report.skipped == ["water_level"]


def test_the_status_topic_is_presence():
    assert _report("yard/status", b"offline").presence == "offline"


@pytest.mark.parametrize(
    ("topic", "payload", "reason", "options"),
    [
        ("yard/status", b"sleeping", "bad_payload", {}),
        ("yard/sensor/temperature/state", b"20", "bad_topic", {"prefixes": ["pond"]}),
        ("a/b/sensor/temperature/state", b"20", "bad_topic", {}),
        ("yard/text_sensor/version/state", b"2024.4.1", "bad_topic", {}),
        ("yard/debug", b"[D][sensor:094]: 'temperature': Sending state", "bad_topic", {}),
    ],
)
def test_messages_it_cannot_read_are_refused_with_a_reason(topic, payload, reason, options):
    translation = _translate(topic, payload, **options)
    assert [p.reason for p in translation.problems] == [reason] and not translation.reports


@pytest.mark.parametrize("payload", [b"1e999", b"\xff\xfe", b"0x1F", b" 7 ", b"inf"])
def test_no_payload_makes_the_adapter_raise(payload):
    adapter = _adapter()
    for topic in ("n/sensor/temperature/state", "n/binary_sensor/motion/state", "n/status"):
        adapter.translate(topic, payload, NOW_MS, None)


@pytest.mark.parametrize(
    ("prefixes", "named"),
    [
        ([], "prefixes is empty"),
        (["home/"], "empty level"),
        (["home/#"], "'#'"),
        (["home+"], "whole level"),
        (["north/+", "south/+"], "same ids"),
    ],
)
def test_unusable_prefixes_are_a_configuration_error(prefixes, named):
    with pytest.raises(ValueError, match=r"ingest.sources\[0\] \(esphome\)") as caught:
        _adapter(prefixes=prefixes)
    assert named in str(caught.value)
