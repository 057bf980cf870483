"""Alink requests, as Aliyun documents them, become readings, events, presence and replies."""

from __future__ import annotations

import json

import pytest

from village_brain.core.catalog import default_catalog
from village_brain.core.records import RawReading
from village_brain.ingest.sources.base import Reply, Translation
from village_brain.ingest.sources.registry import build_adapter

from support.adapter_fixtures import (
    canonical,
    fixture_adapter,
    load_fixture,
    message_payload,
    mutations,
    outcome,
)

FIXTURE = load_fixture("alink")
MESSAGES = FIXTURE["message"]
NOW_MS = 1_795_939_200_000
POST = "/sys/a1B2c3D4e5F/nb-climate-04/thing/event/property/post"


def _adapter(**options):
    raw = {"adapter": "alink", "village": "xiashan", **options}
    return build_adapter(raw, default_catalog(), "ingest.sources[0]")


def _sample(name: str) -> dict:
    return next(m for m in MESSAGES if m["name"].startswith(name))


def _translate(name: str, **options) -> Translation:
    message = _sample(name)
    return _adapter(**options).translate(message["topic"], message_payload(message), NOW_MS, None)


def _post(request: dict, topic: str = POST, **options) -> Translation:
    return _adapter(**options).translate(topic, json.dumps(request).encode(), NOW_MS, None)


def _reply(translation: Translation) -> dict:
    [reply] = translation.replies
    return json.loads(reply.payload)


@pytest.mark.parametrize("message", MESSAGES, ids=[m["name"] for m in MESSAGES])
def test_each_fixture_message_gives_exactly_its_expected_entries_and_replies(message):
    translation = fixture_adapter(FIXTURE).translate(
        message["topic"], message_payload(message), NOW_MS, None
    )
    entries, reasons = outcome(translation, NOW_MS)
    assert canonical(entries) == canonical(message.get("expect", []))
    assert reasons == message.get("rejected", [])
    expected = [Reply(r["topic"], r["payload"].encode()) for r in message.get("replies", [])]
    assert translation.replies == expected


def test_it_subscribes_to_property_and_event_posts_and_sub_device_sessions():
    assert _adapter().subscriptions() == [
        "/sys/+/+/thing/event/+/post",
        "/ext/session/+/+/combine/login",
        "/ext/session/+/+/combine/logout",
        "/sys/+/+/thing/service/property/set_reply",  # answers to commands (docs/control.md)
    ]


def test_a_property_post_is_answered_with_success_and_the_same_id():
    translation = _post({"id": "4294967295", "params": {"CurrentHumidity": 40.5}})
    assert translation.replies[0].topic == POST + "_reply"
    assert _reply(translation) == {
        "id": "4294967295",
        "code": 200,
        "data": {},
        "message": "success",
        "method": "thing.event.property.post",
        "version": "1.0",
    }


def test_a_numeric_id_is_echoed_as_a_number():
    assert _reply(_post({"id": 77, "params": {"CurrentHumidity": 40.5}}))["id"] == 77


def test_a_request_asking_for_no_reply_gets_none_even_when_refused():
    translation = _post({"id": "9", "sys": {"ack": 0}, "params": "x"})
    assert [p.reason for p in translation.problems] == ["bad_payload"] and not translation.replies


def test_a_request_asking_for_a_reply_with_ack_1_gets_one():
    assert _reply(_post({"id": "9", "sys": {"ack": 1}, "params": {"Humidity": 50}}))["code"] == 200


@pytest.mark.parametrize("request_id", [None, ["1"], {"n": 1}, "1" * 65, True])
def test_a_request_without_a_usable_id_is_not_answered(request_id):
    request = {"params": {"Humidity": 50}} | ({} if request_id is None else {"id": request_id})
    translation = _post(request)
    assert translation.reports and not translation.replies


@pytest.mark.parametrize(
    "params",
    [None, [21.5], {}, "CurrentTemperature=21.5"],
    ids=["missing", "list", "empty", "text"],
)
def test_unusable_params_are_refused_with_code_460_and_the_reason(params):
    translation = _post({"id": "12", "params": params} if params is not None else {"id": "12"})
    [problem] = translation.problems
    reply = _reply(translation)
    assert problem.reason == "bad_payload" and not translation.reports
    assert reply["code"] == 460 and reply["id"] == "12"
    assert reply["message"] == f"request parameter error: {problem.detail}"


@pytest.mark.parametrize(("payload", "reason"), [(b"on", "bad_json"), (b'["id"]', "bad_payload")])
def test_a_request_that_is_no_json_object_is_refused_and_cannot_be_answered(payload, reason):
    translation = _adapter().translate(POST, payload, NOW_MS, None)
    assert [p.reason for p in translation.problems] == [reason] and not translation.replies


def test_both_params_shapes_give_readings_and_a_timed_value_keeps_its_time():
    [report] = _translate("constructed: a property post mixing").reports
    assert report.readings == [
        RawReading("air_temperature", 21.5, "Cel", 1_795_910_400_000),
        RawReading("air_humidity", 63.2, "%RH", None),
    ]


def test_the_device_is_the_device_name_and_unmapped_identifiers_are_skipped():
    [report] = _translate("property post without id").reports
    assert (report.device, report.foreign_id) == ("air-station-03", "air-station-03")
    assert report.skipped == ["HumanDetectionSwitch", "Switch_JDQ"]


def test_the_product_key_can_be_part_of_the_device_id():
    [report] = _translate("property post without id", include_product_key=True).reports
    assert report.device == "a1b2c3d4e5f_air-station-03"
    assert report.foreign_id == "a1B2c3D4e5F/air-station-03"


def test_an_id_prefix_comes_first():
    [report] = _translate("property post without id", id_prefix="ali-").reports
    assert report.device == "ali-air-station-03"


def test_struct_property_members_are_named_by_their_dotted_path():
    request = {"id": "3", "params": {"Env": {"value": {"Temp": 19.0, "Hum": 70}, "time": 1_000}}}
    [report] = _post(request, fields={"Env.Temp": "air_temperature"}).reports
    assert report.readings == [RawReading("air_temperature", 19.0, None, 1_000)]
    assert report.skipped == ["Env.Hum"]


def test_a_plain_struct_property_is_flattened_too():
    request = {"id": "3", "params": {"GeoLocation": {"Latitude": 30.2, "Longitude": 120.1}}}
    [report] = _post(request).reports
    assert report.skipped == ["GeoLocation.Latitude", "GeoLocation.Longitude"]


def test_a_bad_property_time_refuses_only_that_property():
    request = {"id": "5", "params": {"Temperature": {"value": 20.5, "time": "1524448722000"}}}
    request["params"] |= {"Humidity": 61.0, "Note": {"value": "x", "time": "soon"}}
    translation = _post(request)
    [report] = translation.reports
    assert [(p.reason, p.sensor) for p in report.problems] == [("bad_timestamp", "air_temperature")]
    assert report.readings == [RawReading("air_humidity", 61.0, "%RH", None)]
    assert report.skipped == ["Note"] and _reply(translation)["code"] == 200


def test_an_event_post_is_an_event_with_its_data_time_and_reply():
    topic = "/sys/a1B2c3D4e5F/pump-05/thing/event/HighWater/post"
    request = {"id": "8", "params": {"value": {"Level": 2.4}, "time": 1_795_910_400_000}}
    translation = _post(request, topic)
    [report] = translation.reports
    assert report.event is not None and report.device == "pump-05"
    assert (report.event.type, report.event.ts_ms, report.event.data) == (
        "highwater",
        1_795_910_400_000,
        {"Level": 2.4},
    )
    assert _reply(translation)["method"] == "thing.event.HighWater.post"
    assert translation.replies[0].topic == topic + "_reply"


def test_an_event_with_a_bad_time_is_refused_with_code_460():
    topic = "/sys/a1B2c3D4e5F/pump-05/thing/event/HighWater/post"
    translation = _post({"id": "8", "params": {"value": {}, "time": 1.5}}, topic)
    assert [p.reason for p in translation.problems] == ["bad_timestamp"]
    assert _reply(translation)["code"] == 460


def test_a_sub_device_login_without_its_names_is_refused_with_code_460():
    topic = "/ext/session/a1GwPk00001/village-gateway/combine/login"
    translation = _post({"id": "6", "params": {"productKey": "al12345****"}}, topic)
    assert [p.reason for p in translation.problems] == ["bad_payload"]
    assert _reply(translation) == {
        "id": "6",
        "code": 460,
        "message": f"request parameter error: {translation.problems[0].detail}",
        "data": {},
    }


def test_a_sub_device_is_named_by_its_own_product_key_when_those_are_included():
    [report] = _translate("a gateway brings", include_product_key=True).reports
    assert (report.foreign_id, report.presence) == ("al12345****/device1234", "online")
    assert report.device.startswith("al12345-_device1234-")


@pytest.mark.parametrize(
    "topic",
    [
        "sys/a1B2c3D4e5F/dev/thing/event/property/post",
        "/sys/a1B2c3D4e5F/dev/thing/event/property/pack/post",
        "/sys/a1B2c3D4e5F//thing/event/property/post",
        "/ext/session/a1GwPk00001/gw/combine/batch_login",
    ],
)
def test_a_topic_outside_the_ones_read_is_refused_with_the_expected_layout(topic):
    translation = _adapter().translate(topic, b'{"id":"1","params":{}}', NOW_MS, None)
    [problem] = translation.problems
    assert problem.reason == "bad_topic" and "leading /" in problem.detail
    assert not translation.replies


@pytest.mark.parametrize("message", MESSAGES, ids=[m["name"] for m in MESSAGES])
def test_no_value_anywhere_in_a_request_makes_translation_fail(message):
    adapter = fixture_adapter(FIXTURE)
    for payload in mutations(message_payload(message)):
        assert isinstance(adapter.translate(message["topic"], payload, NOW_MS, None), Translation)


@pytest.mark.parametrize(
    ("options", "fix"),
    [
        ({"fields": {"WaterLevel": "water_levle"}}, "water_levle"),
        ({"product_key": "a1B2c3D4e5F"}, "product_key"),
        ({"village": "Xia Shan"}, "village id"),
    ],
)
def test_a_wrong_option_is_a_configuration_error_saying_what_to_fix(options, fix):
    with pytest.raises(ValueError, match=r"ingest.sources\[0\] \(alink\)") as error:
        _adapter(**options)
    assert fix in str(error.value)
