"""ChirpStack v4 events, as its documentation and users' captures show them, become our readings."""

from __future__ import annotations

import json

import pytest

from village_brain.core.catalog import default_catalog
from village_brain.core.records import RawReading
from village_brain.ingest.sources.base import Translation
from village_brain.ingest.sources.registry import build_adapter

from support.adapter_fixtures import (
    canonical,
    fixture_adapter,
    load_fixture,
    message_payload,
    mutations,
    outcome,
)

FIXTURE = load_fixture("chirpstack")
MESSAGES = FIXTURE["message"]
NOW_MS = 1_795_939_200_000
APP = "application/17c82e96-be03-4f38-aef3-f83d48582d97/device"
UP_TOPIC = f"{APP}/0101010101010101/event/up"


def _adapter(**options):
    raw = {"adapter": "chirpstack", "village": "xiashan", **options}
    return build_adapter(raw, default_catalog(), "ingest.sources[0]")


def _sample(name: str) -> dict:
    return next(m for m in MESSAGES if m["name"].startswith(name))


def _body(name: str) -> dict:
    return json.loads(_sample(name)["payload"])


def _translate(name: str, **options) -> Translation:
    message = _sample(name)
    return _adapter(**options).translate(message["topic"], message_payload(message), NOW_MS, None)


def _up(body: dict, adapter=None) -> Translation:
    adapter = adapter or _adapter()
    return adapter.translate(UP_TOPIC, json.dumps(body).encode(), NOW_MS, None)


@pytest.mark.parametrize("message", MESSAGES, ids=[m["name"] for m in MESSAGES])
def test_each_fixture_message_gives_exactly_its_expected_entries(message):
    translation = fixture_adapter(FIXTURE).translate(
        message["topic"], message_payload(message), NOW_MS, None
    )
    entries, reasons = outcome(translation, NOW_MS)
    assert canonical(entries) == canonical(message.get("expect", []))
    assert reasons == []


def test_it_subscribes_to_every_event_of_every_application():
    assert _adapter().subscriptions() == ["application/+/device/+/event/+"]


def test_a_changed_event_topic_template_is_subscribed_as_given():
    adapter = _adapter(topic="lora/+/+/+")
    [report] = adapter.translate(
        "lora/app/0101010101010101/join", _sample("join")["payload"].encode(), NOW_MS, None
    ).reports
    assert adapter.subscriptions() == ["lora/+/+/+"] and report.presence == "online"


def test_the_device_is_its_dev_eui_and_the_reading_time_the_events_time():
    [report] = _translate("uplink with a Dragino").reports
    assert (report.device, report.village, report.foreign_id) == (
        "a84041c3d185ee46",
        "xiashan",
        "a84041c3d185ee46",
    )
    assert {r.ts_ms for r in report.readings} == {1_703_053_579_000}  # 2023-12-20T06:26:19Z


def test_decoded_fields_no_table_maps_are_skipped_and_listed():
    [report] = _translate("uplink with a Dragino").reports
    assert report.skipped == ["Longitude", "MD", "Location", "Latitude", "LON", "ALARM_status"]


def test_nested_object_members_are_named_by_their_dotted_path():
    [report] = _translate("constructed: a Cayenne LPP").reports  # no overrides: nothing mapped
    assert report.skipped == ["temperatureSensor.1", "humiditySensor.1"]


def test_a_nested_member_maps_through_a_field_override_with_its_unit():
    override = {"temperatureSensor.1": {"sensor": "soil_temperature", "unit": "Cel"}}
    [report] = _translate("constructed: a Cayenne LPP", fields=override).reports
    assert RawReading("soil_temperature", 25.0, "Cel", 1_795_910_405_250) in report.readings


def test_list_items_are_named_by_their_position():
    body = _body("uplink with a Dragino")
    body["object"] = {"probes": [{"temp": 4.5}, {"temp": 5.0}]}
    [report] = _up(body, _adapter(fields={"probes.1.temp": "soil_temperature"})).reports
    assert report.skipped == ["probes.0.temp"]
    assert RawReading("soil_temperature", 5.0, None, 1_703_053_579_000) in report.readings


def test_a_null_decoded_value_is_no_reading():
    body = _body("uplink with a Dragino")
    body["object"] = {"Tem": None, "Hum": 50.0}
    [report] = _up(body).reports
    assert [r.sensor for r in report.readings] == ["air_humidity", "rssi", "snr"]
    assert report.skipped == ["Tem"] and not report.problems


def test_the_gateway_with_the_strongest_signal_gives_the_link_readings():
    [report] = _translate("constructed: a Cayenne LPP").reports
    ts = 1_795_910_405_250
    assert report.readings[-2:] == [
        RawReading("rssi", -85.0, "dBm", ts),
        RawReading("snr", -1.0, "dB", ts),
    ]


def test_equal_signals_are_told_apart_by_snr():
    body = _body("uplink without a decoder")
    body["rxInfo"] = [{"rssi": -90, "snr": 1.0}, {"rssi": -90, "snr": 6.25}, {"snr": 9.0}]
    [report] = _up(body).reports
    assert [r.value for r in report.readings] == [-90.0, 6.25]


def test_an_snr_left_out_by_the_protobuf_json_mapping_is_zero():
    body = _body("uplink without a decoder")
    body["rxInfo"] = [{"gatewayId": "0016c001f153a14c", "rssi": -101}]
    [report] = _up(body).reports
    assert [(r.sensor, r.value) for r in report.readings] == [("rssi", -101.0), ("snr", 0.0)]


def test_an_uplink_no_gateway_reports_has_no_link_readings():
    body = _body("uplink without a decoder")
    del body["rxInfo"]
    [report] = _up(body).reports
    assert report.readings == [] and not report.problems


def test_an_uplink_without_a_time_is_read_at_receipt():
    body = _body("uplink with a Dragino")
    del body["time"]
    [report] = _up(body).reports
    assert {r.ts_ms for r in report.readings} == {None}


def test_an_http_integration_body_reads_as_the_same_mqtt_event():
    adapter = _adapter()
    for name in ("uplink with a Dragino", "device status: battery", "join"):
        message = _sample(name)
        event = message["topic"].rpartition("/")[2]
        payload = message_payload(message)
        assert adapter.translate_event(event, payload, NOW_MS) == adapter.translate(
            message["topic"], payload, NOW_MS, None
        )


def test_a_status_event_gives_the_battery_level_in_percent():
    [report] = _translate("device status: battery").reports
    assert report.readings == [RawReading("battery_level", 88.3, "%", 1_658_136_906_927)]


@pytest.mark.parametrize("flag", ["externalPowerSource", "batteryLevelUnavailable"])
def test_a_status_without_a_measured_battery_is_quiet(flag):
    body = _body("device status: battery")
    del body["batteryLevel"]
    body[flag] = True
    translation = _adapter().translate_event("status", json.dumps(body).encode(), NOW_MS)
    assert translation.quiet and not translation.reports and not translation.problems


def test_a_join_says_the_device_is_online():
    [report] = _translate("join").reports
    assert report.presence == "online" and report.device == "0101010101010101"


@pytest.mark.parametrize("event", ["ack", "txack", "log", "location", "integration", "future"])
def test_events_without_measurements_are_quiet_whatever_they_hold(event):
    topic = f"{APP}/0101010101010101/event/{event}"
    translation = _adapter().translate(topic, b"\x08\x01", 0, None)
    assert translation.quiet and not translation.reports and not translation.problems


def test_the_device_name_can_be_the_device_id_instead():
    [report] = _translate("uplink from a device named with spaces", device_id="device_name").reports
    assert report.foreign_id == "FF FF 11 11 11 11 FF FF"
    assert report.device.startswith("ff-ff-11-11-11-11-ff-ff-")


def test_an_id_prefix_comes_before_the_dev_eui():
    [report] = _translate("join", id_prefix="lora-").reports
    assert report.device == "lora-0101010101010101"


def test_a_protobuf_event_is_refused_with_the_setting_that_fixes_it():
    translation = _adapter().translate(UP_TOPIC, b"\n$3ac7", 0, None)
    [problem] = translation.problems
    assert problem.reason == "unknown_format" and "json = true" in problem.detail


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda b: b.pop("deviceInfo"), "bad_payload"),
        (lambda b: b["deviceInfo"].update(devEui=17), "bad_payload"),
        (lambda b: b.update(time="yesterday"), "bad_timestamp"),
        (lambda b: b.update(time=1_658_136_855_775), "bad_timestamp"),
    ],
    ids=["no deviceInfo", "devEui not text", "time not RFC 3339", "time a number"],
)
def test_an_uplink_that_cannot_be_placed_is_refused_whole(change, reason):
    body = _body("uplink without a decoder")
    change(body)
    translation = _up(body)
    assert [p.reason for p in translation.problems] == [reason] and not translation.reports


def test_a_decoder_object_that_is_not_an_object_is_refused_but_the_link_is_kept():
    body = _body("uplink without a decoder")
    body["object"] = [21.5]
    [report] = _up(body).reports
    assert [p.reason for p in report.problems] == ["bad_payload"]
    assert [r.sensor for r in report.readings] == ["rssi", "snr"]


def test_bad_json_is_refused():
    translation = _adapter().translate(UP_TOPIC, b'{"time":', 0, None)
    assert [p.reason for p in translation.problems] == ["bad_json"]


def test_a_topic_outside_the_subscription_is_refused():
    translation = _adapter().translate("application/x/device/y/command/down", b"{}", 0, None)
    assert [p.reason for p in translation.problems] == ["bad_topic"]


@pytest.mark.parametrize("message", MESSAGES, ids=[m["name"] for m in MESSAGES])
def test_no_value_anywhere_in_an_event_makes_translation_fail(message):
    adapter = fixture_adapter(FIXTURE)
    for payload in mutations(message_payload(message)):
        assert isinstance(adapter.translate(message["topic"], payload, NOW_MS, None), Translation)


@pytest.mark.parametrize(
    ("options", "fix"),
    [
        ({"topic": "application/#/event/+"}, "# only at the end"),
        ({"topic": "application/+/device/dev+/event/+"}, "whole levels"),
        ({"device_id": "dev_addr"}, "dev_eui"),
        ({"fields": {"Tem": "air_temprature"}}, "air_temprature"),
        ({"topik": "x"}, "topik"),
    ],
)
def test_a_wrong_option_is_a_configuration_error_saying_what_to_fix(options, fix):
    with pytest.raises(ValueError, match=r"ingest.sources\[0\] \(chirpstack\)") as error:
        _adapter(**options)
    assert fix in str(error.value)
