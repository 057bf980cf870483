"""One message in, readings and rejections out."""

import json

import pytest

from village_brain.core.catalog import default_catalog
from village_brain.ingest.codecs import default_registry
from village_brain.ingest.pipeline import DeviceDirectory, InboundMessage, Limits, Pipeline
from village_brain.ingest.topics import Address
from village_brain.ingest.validate import TimeWindow
from village_brain.store.registry import BatchRecord, RegistryStore

NOW = 1_764_403_200_000
TOPIC = "village/xiashan/gauge-1/telemetry"


def pipeline(auto_register: bool = True, max_payload: int = 65_536) -> Pipeline:
    catalog = default_catalog()
    directory = DeviceDirectory({"gauge-1": "xiashan"}, auto_register=auto_register)
    limits = Limits(max_payload, 1000, TimeWindow(300_000, 7 * 86_400_000))
    return Pipeline(catalog, default_registry(catalog), directory, limits)


def message(payload: object, topic: str = TOPIC) -> InboundMessage:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return InboundMessage(topic=topic, payload=body, received_ms=NOW)


def test_good_readings_are_kept_and_bad_ones_rejected_from_the_same_message():
    outcome = pipeline().process(
        message({"values": {"water_level": 1.2, "rssi": "strong", "water_ph": 99}})
    )
    assert [(r.sensor, r.value) for r in outcome.readings] == [("water_level", 1.2)]
    assert sorted(r.reason for r in outcome.rejections) == ["out_of_range", "wrong_type"]


def test_a_rejection_names_device_topic_sensor_and_keeps_an_excerpt():
    [rejection] = pipeline().process(message({"values": {"water_ph": 99}})).rejections
    assert (rejection.device, rejection.village, rejection.sensor) == (
        "gauge-1",
        "xiashan",
        "water_ph",
    )
    assert rejection.topic == TOPIC and '"water_ph": 99' in rejection.excerpt


def test_nan_costs_only_its_own_reading():
    outcome = pipeline().process(message(b'{"values": {"water_level": NaN, "rssi": -80}}'))
    assert [r.sensor for r in outcome.readings] == ["rssi"]
    assert [r.reason for r in outcome.rejections] == ["not_finite"]


def test_broken_json_is_one_bad_json_rejection():
    outcome = pipeline().process(message(b'{"values": {"water_level": 1.2'))
    assert outcome.readings == [] and [r.reason for r in outcome.rejections] == ["bad_json"]


def test_an_oversized_payload_is_rejected_before_decoding():
    outcome = pipeline(max_payload=1000).process(message(b"{" + b" " * 2000 + b"}"))
    [rejection] = outcome.rejections
    assert rejection.reason == "payload_too_large" and "2,002 bytes" in rejection.detail
    assert len(rejection.excerpt) <= 200


def test_a_bad_topic_is_rejected_without_a_device():
    [rejection] = pipeline().process(message({"values": {}}, "village/X/y/telemetry")).rejections
    assert rejection.reason == "bad_topic" and rejection.device is None


def test_an_unknown_device_is_registered_in_auto_mode():
    outcome = pipeline().process(
        message({"values": {"rssi": -70}}, "village/xiashan/new/telemetry")
    )
    [device] = outcome.new_devices
    assert device.id == "new" and device.source == "auto"
    assert len(outcome.readings) == 1


def test_an_unknown_device_is_rejected_in_strict_mode():
    outcome = pipeline(auto_register=False).process(
        message({"values": {"rssi": -70}}, "village/xiashan/new/telemetry")
    )
    assert outcome.readings == [] and outcome.rejections[0].reason == "unknown_device"


def test_a_device_publishing_under_another_village_is_rejected():
    outcome = pipeline().process(
        message({"values": {"rssi": -70}}, "village/other/gauge-1/telemetry")
    )
    assert outcome.rejections[0].reason == "wrong_village"


def test_telemetry_marks_the_device_seen_at_receipt():
    assert pipeline().process(message({"values": {"rssi": -70}})).seen == [("gauge-1", NOW)]


@pytest.mark.parametrize(("payload", "status"), [(b"online", "online"), (b" OFFLINE\n", "offline")])
def test_status_messages_set_presence(payload, status):
    outcome = pipeline().process(message(payload, "village/xiashan/gauge-1/status"))
    assert outcome.statuses == [("gauge-1", status, NOW)]


def test_an_unknown_status_word_is_rejected():
    outcome = pipeline().process(message(b"sleeping", "village/xiashan/gauge-1/status"))
    assert outcome.rejections[0].reason == "bad_payload"


def test_an_event_is_kept_with_its_type_time_and_data():
    outcome = pipeline().process(
        message(
            {"type": "door_opened", "ts": NOW - 1000, "data": {"door": "pump"}},
            "village/xiashan/gauge-1/event",
        )
    )
    [event] = outcome.events
    assert (event.type, event.ts_ms, event.data) == (
        "door_opened",
        NOW - 1000,
        {"door": "pump"},
    )


def test_an_event_without_a_type_is_rejected():
    outcome = pipeline().process(message({"data": {}}, "village/xiashan/gauge-1/event"))
    assert outcome.rejections[0].reason == "bad_payload"


def test_too_many_readings_keeps_the_first_ones():
    catalog = default_catalog()
    directory = DeviceDirectory({"gauge-1": "xiashan"}, auto_register=True)
    limits = Limits(1_000_000, 10, TimeWindow(300_000, 7 * 86_400_000))
    small = Pipeline(catalog, default_registry(catalog), directory, limits)
    batch = [{"ts": NOW - i * 1000, "values": {"rssi": -70}} for i in range(15)]
    outcome = small.process(message({"batch": batch}))
    assert len(outcome.readings) == 10
    assert [r.reason for r in outcome.rejections] == ["too_many_readings"]


class ExplodingCodec:
    """A codec with a bug: the kind of failure no rule of the pipeline foresees."""

    name = "exploding"
    content_types = ("application/x-exploding",)

    def sniffs(self, payload: bytes) -> bool:
        return False

    def decode(self, payload: bytes, received_ms: int):
        raise ZeroDivisionError("division by zero")


def test_a_failure_no_rule_foresaw_refuses_that_message_as_internal_error():
    catalog = default_catalog()
    codecs = default_registry(catalog)
    codecs.register(ExplodingCodec())
    broken = Pipeline(
        catalog,
        codecs,
        DeviceDirectory({"gauge-1": "xiashan"}, auto_register=True),
        Limits(65_536, 1000, TimeWindow(300_000, 7 * 86_400_000)),
    )
    msg = InboundMessage(TOPIC, b'{"values": {"rssi": -70}}', NOW, "application/x-exploding")
    outcome = broken.process(msg)
    assert outcome.readings == []
    [rejection] = outcome.rejections
    assert rejection.reason == "internal_error"
    assert "ZeroDivisionError: division by zero" in rejection.detail
    assert (rejection.device, rejection.excerpt) == ("gauge-1", '{"values": {"rssi": -70}}')


def test_a_sensor_name_that_utf8_cannot_encode_is_made_storable_in_the_rejection(tmp_path):
    # JSON may escape a lone surrogate, which the standard library decodes and UTF-8 refuses.
    outcome = pipeline().process(message(b'{"values": {"\\ud800x": {"u": 1}}}'))
    registry = RegistryStore(tmp_path / "registry.sqlite3")
    registry.commit(BatchRecord(rejections=outcome.rejections))
    [stored] = registry.rejections()
    assert stored.reason == "wrong_type" and stored.sensor == "\\ud800x"


def test_event_data_nested_too_deep_is_refused_before_it_reaches_the_store():
    payload = b'{"type": "door_opened", "data": {"a": ' + b"[" * 300 + b"]" * 300 + b"}}"
    outcome = pipeline().process(message(payload, "village/xiashan/gauge-1/event"))
    assert outcome.events == []
    assert [r.reason for r in outcome.rejections] == ["too_deep"]


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        ({"type": "door_opened", "data": {"n": [1, {"big": 2**64}]}}, "bad_payload"),
        ({"type": "door_opened", "ts": 10**400}, "bad_timestamp"),
        ({"type": "door_opened", "ts": "1" * 400}, "bad_timestamp"),
    ],
)
def test_event_numbers_too_large_to_store_refuse_the_event(event, reason):
    outcome = pipeline().process(message(event, "village/xiashan/gauge-1/event"))
    assert outcome.events == [] and [r.reason for r in outcome.rejections] == [reason]


def test_a_decommissioned_device_is_refused_under_strict_registration():
    directory = DeviceDirectory({"gauge-1": "xiashan"}, auto_register=False)
    directory.remove("gauge-1")
    problem = directory.admit(Address("xiashan", "gauge-1", "telemetry"))
    assert problem is not None and problem.reason == "unknown_device"
