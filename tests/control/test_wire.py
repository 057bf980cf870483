"""Commands and results on the wire, and ingest reading the result topic."""

import json

import msgspec
from control_kit import T0

from village_brain.control.records import Command, Origin
from village_brain.control.wire import decode_result, outgoing
from village_brain.core.catalog import default_catalog
from village_brain.ingest.codecs import default_registry
from village_brain.ingest.pipeline import DeviceDirectory, InboundMessage, Limits, Pipeline
from village_brain.ingest.topics import Address, parse_topic
from village_brain.ingest.validate import TimeWindow

RESULT_TOPIC = "village/xiashan/lamp-1/command/result"


def command(expires_ms=T0 + 60_000):
    return Command(
        "c-1", "xiashan", "lamp-1", "lamp_state", "on", {}, "queued", T0, expires_ms, Origin("wang")
    )


def test_a_command_carries_its_expiry_and_reply_topic_in_payload_and_properties():
    out = outgoing(command(), T0 + 500)
    assert json.loads(out.payload) == {
        "id": "c-1",
        "target": "lamp_state",
        "value": "on",
        "expires": T0 + 60_000,
        "reply_to": RESULT_TOPIC,
    }
    assert (out.expiry_s, out.response_topic, out.correlation) == (60, RESULT_TOPIC, b"c-1")


def test_the_mqtt_expiry_is_never_shorter_than_the_payloads():
    assert outgoing(command(expires_ms=T0 + 1_001), T0).expiry_s == 2
    assert outgoing(command(expires_ms=T0 + 10), T0 + 20).expiry_s == 1


def test_the_result_topic_is_read_and_other_downlink_topics_are_not():
    assert parse_topic(RESULT_TOPIC) == Address("xiashan", "lamp-1", "result")
    assert parse_topic("village/xiashan/lamp-1/command") is None
    assert parse_topic("village/xiashan/lamp-1/result").reason == "bad_topic"


def test_a_result_needs_an_id_and_a_known_status():
    assert decode_result(b'{"id": "c-1"}', "v", "d", T0).reason == "bad_payload"
    assert decode_result(b'{"id": "c-1", "status": "maybe"}', "v", "d", T0).reason == "bad_payload"
    assert decode_result(b"done", "v", "d", T0).reason == "bad_json"
    assert decode_result(b'{"id": "C 1", "status": "done"}', "v", "d", T0).reason == "bad_payload"


def pipeline(collected):
    catalog = default_catalog()
    limits = Limits(65_536, 1000, TimeWindow(300_000, 7 * 86_400_000))
    return Pipeline(
        catalog,
        default_registry(catalog),
        DeviceDirectory({"lamp-1": "xiashan"}, auto_register=False),
        limits,
        on_results=collected.extend,
    )


def test_ingest_hands_a_devices_answer_to_control_and_stores_no_reading():
    collected = []
    body = msgspec.json.encode({"id": "c-1", "status": "done", "state": {"lamp_state": "on"}})
    outcome = pipeline(collected).process(InboundMessage(RESULT_TOPIC, body, T0))
    assert not outcome.readings and not outcome.rejections
    assert [(r.id, r.status, r.state, r.device) for r in collected] == [
        ("c-1", "done", {"lamp_state": "on"}, "lamp-1")
    ]


def test_a_malformed_answer_is_refused_where_people_see_it():
    collected = []
    outcome = pipeline(collected).process(InboundMessage(RESULT_TOPIC, b'{"status": "x"}', T0))
    assert [r.reason for r in outcome.rejections] == ["bad_payload"] and not collected
