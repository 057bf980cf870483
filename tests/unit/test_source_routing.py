"""Which source reads a message, and what the pipeline makes of a source's translation."""

from __future__ import annotations

import pytest

from village_brain.core.catalog import default_catalog
from village_brain.ingest.codecs import default_registry
from village_brain.ingest.pipeline import DeviceDirectory, InboundMessage, Limits, Pipeline
from village_brain.ingest.sources.router import build_sources
from village_brain.ingest.validate import TimeWindow

NOW = 1_795_939_200_000
Z2M = {"adapter": "zigbee2mqtt", "village": "xiashan"}
ALINK = {"adapter": "alink", "village": "xiashan"}


def pipeline(*tables: dict, auto_register: bool = True) -> Pipeline:
    catalog = default_catalog()
    limits = Limits(65_536, 1000, TimeWindow(300_000, 7 * 86_400_000))
    return Pipeline(
        catalog,
        default_registry(catalog),
        DeviceDirectory({}, auto_register=auto_register),
        limits,
        sources=build_sources(list(tables), catalog),
    )


def process(pipe: Pipeline, topic: str, payload: bytes):
    return pipe.process(InboundMessage(topic=topic, payload=payload, received_ms=NOW))


def test_a_topic_no_source_reads_is_a_bad_topic():
    outcome = process(pipeline(Z2M), "tele/lamp/SENSOR", b"{}")
    assert [r.reason for r in outcome.rejections] == ["bad_topic"]
    assert "no configured source" in outcome.rejections[0].detail


def test_our_own_downlink_is_not_refused():
    outcome = process(pipeline(), "village/xiashan/lamp-1/command", b'{"lamp_state": true}')
    assert outcome.quiet and not outcome.rejections


def test_a_source_registers_a_new_device_with_its_own_id():
    outcome = process(pipeline(Z2M), "zigbee2mqtt/Gate Sensor", b'{"contact": true}')
    [device] = outcome.new_devices
    assert device.foreign_id == "Gate Sensor" and device.id.startswith("gate-sensor-")
    assert [(r.sensor, r.value) for r in outcome.readings] == [("contact", 1.0)]
    assert outcome.source == "zigbee2mqtt"


def test_strict_registration_refuses_a_sources_unknown_device():
    outcome = process(pipeline(Z2M, auto_register=False), "zigbee2mqtt/plug", b'{"power": 5}')
    assert [r.reason for r in outcome.rejections] == ["unknown_device"] and not outcome.readings


def test_a_sources_reading_is_checked_like_ours():
    outcome = process(pipeline(Z2M), "zigbee2mqtt/probe", b'{"temperature": 99, "humidity": 40}')
    assert [r.sensor for r in outcome.readings] == ["air_humidity"]
    assert [(r.reason, r.device) for r in outcome.rejections] == [("out_of_range", "probe")]


def test_presence_from_a_source_sets_the_devices_status():
    outcome = process(pipeline(Z2M), "zigbee2mqtt/probe/availability", b"offline")
    assert outcome.statuses == [("probe", "offline", NOW)]


def test_a_reply_the_family_expects_is_handed_on_for_after_the_commit():
    payload = b'{"id": "7", "version": "1.0", "params": {"Temperature": 21.5}}'
    outcome = process(pipeline(ALINK), "/sys/pk1/dev1/thing/event/property/post", payload)
    [reply] = outcome.replies
    assert reply.topic == "/sys/pk1/dev1/thing/event/property/post_reply"
    assert b'"code":200' in reply.payload


def test_the_first_source_whose_filters_match_reads_the_message():
    second = {"adapter": "zigbee2mqtt", "village": "other", "name": "z2m-other"}
    outcome = process(pipeline(Z2M, second), "zigbee2mqtt/probe", b'{"humidity": 40}')
    assert outcome.source == "zigbee2mqtt" and outcome.readings[0].village == "xiashan"


@pytest.mark.parametrize(
    ("tables", "message"),
    [
        ([{"adapter": "zigbe2mqtt", "village": "x"}], "is not one of"),
        ([Z2M, Z2M], "give each a name"),
        ([{"adapter": "native"}], "always read"),
        ([{"adapter": "zigbee2mqtt"}], "village"),
    ],
)
def test_a_bad_sources_table_says_what_to_fix(tables, message):
    with pytest.raises(ValueError, match=message):
        build_sources(tables, default_catalog())
