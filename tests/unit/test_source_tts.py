"""The Things Stack v3 messages, as its documentation and a capture show them, become readings."""

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

FIXTURE = load_fixture("tts")
MESSAGES = FIXTURE["message"]
NOW_MS = 1_795_939_200_000
UP_TOPIC = "v3/app1@tenant1/devices/dev1/up"
TEKTELIC_MS = 1_753_357_887_573  # uplink_message.received_at 2025-07-24T11:51:27.572703341Z


def _adapter(**options):
    raw = {"adapter": "tts", "village": "xiashan", **options}
    return build_adapter(raw, default_catalog(), "ingest.sources[0]")


def _sample(name: str) -> dict:
    return next(m for m in MESSAGES if m["name"].startswith(name))


def _body(name: str) -> dict:
    return json.loads(_sample(name)["payload"])


def _translate(name: str, **options) -> Translation:
    message = _sample(name)
    return _adapter(**options).translate(message["topic"], message_payload(message), NOW_MS, None)


def _up(body: dict, adapter=None) -> Translation:
    return (adapter or _adapter()).translate(UP_TOPIC, json.dumps(body).encode(), NOW_MS, None)


@pytest.mark.parametrize("message", MESSAGES, ids=[m["name"] for m in MESSAGES])
def test_each_fixture_message_gives_exactly_its_expected_entries(message):
    translation = fixture_adapter(FIXTURE).translate(
        message["topic"], message_payload(message), NOW_MS, None
    )
    entries, reasons = outcome(translation, NOW_MS)
    assert canonical(entries) == canonical(message.get("expect", []))
    assert reasons == []


def test_it_subscribes_to_uplinks_and_joins_of_every_application():
    assert _adapter().subscriptions() == ["v3/+/devices/+/up", "v3/+/devices/+/join"]


def test_it_can_subscribe_to_one_application_only():
    adapter = _adapter(application="app1@ttn")
    assert adapter.subscriptions() == ["v3/app1@ttn/devices/+/up", "v3/app1@ttn/devices/+/join"]
    other = adapter.translate("v3/app2@ttn/devices/dev1/up", b"{}", NOW_MS, None)
    assert [p.reason for p in other.problems] == ["bad_topic"]


def test_the_device_is_its_device_id_and_the_time_the_network_servers():
    [report] = _translate("uplink from a Tektelic").reports
    assert (report.device, report.village, report.foreign_id) == (
        "vivid-8263",
        "xiashan",
        "vivid-8263",
    )
    assert report.readings[0] == RawReading("air_temperature", 25.3, "Cel", TEKTELIC_MS)


def test_the_dev_eui_can_be_the_device_id_instead():
    [report] = _translate("uplink from a Tektelic", device_id="dev_eui").reports
    assert (report.device, report.foreign_id) == ("647fda0000018263", "647FDA0000018263")


def test_without_the_network_servers_time_the_application_servers_is_used():
    body = _body("uplink with a payload formatter")
    del body["uplink_message"]["received_at"]
    [report] = _up(body).reports
    assert {r.ts_ms for r in report.readings} == {1_581_520_546_015}  # 15:15:46.014773143Z


def test_the_battery_percentage_keeps_the_time_the_device_reported_it():
    [report] = _translate("uplink from a Tektelic").reports
    assert report.readings[-1] == RawReading("battery_level", 99.20949, "%", 1_753_293_084_211)


def test_formatter_fields_no_table_maps_are_skipped_and_listed():
    [report] = _translate("uplink from a Tektelic").reports
    assert report.skipped == ["port", "raw"]


def test_the_normalized_payload_shape_maps_by_its_documented_paths():
    [report] = _translate("constructed: a formatter decoding").reports
    assert report.skipped == ["soil.ec"]
    assert RawReading("soil_moisture", 23.5, "%", 1_795_939_800_500) in report.readings


def test_the_gateway_with_the_strongest_signal_gives_the_link_readings():
    [report] = _translate("constructed: a formatter decoding").reports
    assert [(r.sensor, r.value) for r in report.readings[-2:]] == [
        ("rssi", -104.0),
        ("snr", -3.25),
    ]


def test_a_gateway_giving_only_channel_rssi_still_counts():
    body = _body("uplink with a payload formatter")
    body["uplink_message"]["rx_metadata"] = [{"channel_rssi": -99, "snr": 2.0}]
    [report] = _up(body).reports
    assert [(r.sensor, r.value) for r in report.readings[-2:]] == [("rssi", -99.0), ("snr", 2.0)]


def test_a_join_accept_says_the_device_is_online():
    [report] = _translate("join-accept").reports
    assert report.presence == "online" and not report.readings


def test_a_webhook_body_reads_as_the_same_mqtt_message_by_its_content():
    adapter = _adapter()
    for name in ("uplink from a Tektelic", "join-accept"):
        message = _sample(name)
        payload = message_payload(message)
        from_mqtt = adapter.translate(message["topic"], payload, NOW_MS, None)
        assert adapter.translate_event("", payload, NOW_MS) == from_mqtt


def test_a_webhook_body_of_another_kind_is_quiet():
    body = _sample("downlink ack")["payload"].encode()
    translation = _adapter().translate_event("", body, NOW_MS)
    assert translation.quiet and not translation.reports and not translation.problems


@pytest.mark.parametrize("event", ["down/ack", "down/sent", "service/data", "location/solved"])
def test_downlink_service_and_location_messages_are_quiet_whatever_they_hold(event):
    translation = _adapter().translate(f"v3/app1@tenant1/devices/dev1/{event}", b"\x08", 0, None)
    assert translation.quiet and not translation.problems


def test_an_up_message_without_an_uplink_is_refused():
    join_accept = _sample("join-accept")["payload"].encode()
    translation = _adapter().translate(UP_TOPIC, join_accept, NOW_MS, None)
    [problem] = translation.problems
    assert problem.reason == "bad_payload" and "uplink_message" in problem.detail


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda b: b.pop("end_device_ids"), "bad_payload"),
        (lambda b: b["end_device_ids"].update(device_id=""), "bad_payload"),
        (lambda b: b["uplink_message"].update(received_at="noon"), "bad_timestamp"),
        (lambda b: b.update(uplink_message="gkHe"), "bad_payload"),
    ],
    ids=["no end_device_ids", "empty device_id", "bad received_at", "uplink not an object"],
)
def test_an_uplink_that_cannot_be_placed_is_refused_whole(change, reason):
    body = _body("uplink with a payload formatter")
    change(body)
    translation = _up(body)
    assert [p.reason for p in translation.problems] == [reason] and not translation.reports


def test_a_bad_battery_time_refuses_only_the_battery_level():
    body = _body("uplink from a Tektelic")
    body["uplink_message"]["last_battery_percentage"]["received_at"] = 1495
    [report] = _up(body).reports
    assert [(p.reason, p.sensor) for p in report.problems] == [("bad_timestamp", "battery_level")]
    assert "battery_level" not in {r.sensor for r in report.readings}


def test_a_formatter_output_that_is_not_an_object_is_refused_but_the_link_is_kept():
    body = _body("uplink with a payload formatter")
    body["uplink_message"]["decoded_payload"] = "1.0"
    [report] = _up(body).reports
    assert [p.reason for p in report.problems] == ["bad_payload"]
    assert [r.sensor for r in report.readings] == ["rssi", "snr"]


def test_a_protobuf_webhook_body_is_refused_with_the_setting_that_fixes_it():
    [problem] = _adapter().translate_event("up", b"\n\x06\n\x04dev1", NOW_MS).problems
    assert problem.reason == "unknown_format" and "format to JSON" in problem.detail


@pytest.mark.parametrize(
    "topic", ["v3/app1/devices", "v2/app1/devices/dev1/up", "v3//devices/d/up"]
)
def test_a_topic_outside_the_layout_is_refused(topic):
    translation = _adapter().translate(topic, b"{}", NOW_MS, None)
    assert [p.reason for p in translation.problems] == ["bad_topic"]


@pytest.mark.parametrize("message", MESSAGES, ids=[m["name"] for m in MESSAGES])
def test_no_value_anywhere_in_a_message_makes_translation_fail(message):
    adapter = fixture_adapter(FIXTURE)
    for payload in mutations(message_payload(message)):
        assert isinstance(adapter.translate(message["topic"], payload, NOW_MS, None), Translation)
        assert isinstance(adapter.translate_event("", payload, NOW_MS), Translation)


@pytest.mark.parametrize(
    ("options", "fix"),
    [
        ({"application": "app1/x"}, "app1@ttn"),
        ({"application": "app+"}, "app1@ttn"),
        ({"device_id": "dev_addr"}, "device_id or dev_eui"),
        ({"fields": {"temperature": "air_temprature"}}, "air_temprature"),
        ({"tenant": "ttn"}, "tenant"),
    ],
)
def test_a_wrong_option_is_a_configuration_error_saying_what_to_fix(options, fix):
    with pytest.raises(ValueError, match=r"ingest.sources\[0\] \(tts\)") as error:
        _adapter(**options)
    assert fix in str(error.value)
