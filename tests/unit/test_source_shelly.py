"""Shelly Gen2+ notification frames, component status and `online` become readings,
events and presence."""

from __future__ import annotations

import json

import pytest

from village_brain.core.catalog import default_catalog
from village_brain.core.records import RawReading
from village_brain.ingest.sources.base import EventReport
from village_brain.ingest.sources.registry import build_adapter

from support.adapter_fixtures import fixture_adapter, load_fixture, outcomes

FIXTURE = load_fixture("shelly")
MESSAGES = FIXTURE["message"]
NOW_MS = 1_795_939_200_000
TS = 1_795_939_100.5
TS_MS = 1_795_939_100_500
PLUG = {
    "id": 0,
    "source": "loopback",
    "output": True,
    "apower": 10.7,
    "voltage": 120.7,
    "current": 0.133,
    "aenergy": {"total": 46791.262, "by_minute": [73.921, 177.749, 177.749]},
    "temperature": {"tC": 47.9, "tF": 118.3},
}


def _adapter(**options):
    raw = {"adapter": "shelly", "village": "xiashan", **options}
    return build_adapter(raw, default_catalog(), "ingest.sources[0]")


def _frame(method: str, **params) -> bytes:
    return json.dumps({"src": "dev", "method": method, "params": {"ts": TS, **params}}).encode()


def _translate(topic: str, payload: bytes, **options):
    return _adapter(**options).translate(topic, payload, NOW_MS, None)


def _report(topic: str, payload: bytes, **options):
    [report] = _translate(topic, payload, **options).reports
    return report


def _sample(name: str) -> tuple[str, bytes]:
    message = next(m for m in MESSAGES if m["name"].startswith(name))
    return message["topic"], message["payload"].encode()


@pytest.mark.parametrize("message", MESSAGES, ids=[m["name"] for m in MESSAGES])
def test_each_fixture_message_gives_exactly_its_expected_entries(message):
    shown = outcomes(fixture_adapter(FIXTURE), message)
    assert not [entry for entry in shown if "refused" in entry]
    for expected in message.get("expect", []):
        assert expected in shown


def test_by_default_it_reads_every_device_under_its_own_id():
    assert _adapter().subscriptions() == [
        "+/events/rpc",
        "+/online",
        "+/status/+",
        "village-brain/xiashan/+/rpc",  # answers to commands (docs/control.md)
    ]


def test_params_ts_in_seconds_is_the_reading_time_in_milliseconds():
    [reading] = _report(
        "dev/events/rpc", _frame("NotifyStatus", **{"humidity:0": {"rh": 40}})
    ).readings
    assert reading == RawReading("air_humidity", 40.0, "%RH", TS_MS)


def test_a_partial_update_gives_only_the_fields_it_carries():
    payload = _frame("NotifyStatus", **{"switch:0": {"id": 0, "apower": 12.5}})
    assert _report("dev/events/rpc", payload).readings == [
        RawReading("active_power", 12.5, "W", TS_MS)
    ]


def test_a_field_sent_as_null_is_no_reading():
    payload = _frame("NotifyStatus", **{"temperature:0": {"id": 0, "tC": None}})
    report = _report("dev/events/rpc", payload)
    assert not report.readings and report.skipped == ["temperature:0.tC"]


def test_a_relays_own_temperature_is_not_the_airs_and_energy_is_in_wh():
    report = _report("plug/status/switch:0", json.dumps(PLUG).encode())
    assert "air_temperature" not in {r.sensor for r in report.readings}
    assert "switch:0.temperature.tC" in report.skipped
    assert RawReading("energy", 46791.262, "Wh", None) in report.readings
    assert RawReading("lamp_state", True, None, None) in report.readings


def test_components_that_are_not_measurements_are_listed_as_skipped():
    [report] = _translate(*_sample("Plus H&T")).reports
    assert "sys.uptime" in report.skipped and "cloud.connected" in report.skipped
    assert "temperature:0.tF" in report.skipped


def test_a_second_instance_of_a_type_is_skipped_unless_mapped():
    probes = {"temperature:100": {"id": 100, "tC": 6.5}, "temperature:101": {"id": 101, "tC": 21.0}}
    payload = _frame("NotifyStatus", **probes)
    plain = _report("dev/events/rpc", payload)
    assert [r.sensor for r in plain.readings] == ["air_temperature"]
    assert plain.skipped == ["temperature:101.tC"]
    mapped = _report("dev/events/rpc", payload, fields={"temperature:100.tC": "soil_temperature"})
    assert [(r.sensor, r.value) for r in mapped.readings] == [
        ("soil_temperature", 6.5),
        ("air_temperature", 21.0),
    ]


def test_a_relay_that_drives_no_lamp_can_leave_output_unmapped():
    payload = _frame("NotifyStatus", **{"switch:0": {"output": False}})
    report = _report("dev/events/rpc", payload, fields={"switch.output": False})
    assert not report.readings and report.skipped == ["switch:0.output"]


def test_smoke_and_flood_alarms_are_read():
    payload = _frame("NotifyStatus", **{"smoke:0": {"alarm": True}, "flood:0": {"alarm": False}})
    assert _report("dev/events/rpc", payload).readings == [
        RawReading("smoke", True, None, TS_MS),
        RawReading("water_leak", False, None, TS_MS),
    ]


def test_an_event_is_an_event_report_with_its_own_time_and_fields():
    [report] = _translate(*_sample("NotifyEvent")).reports
    assert report.device == "shellypro4pm-f008d1d8b8b8" and not report.readings
    assert report.event == EventReport(
        "single_push", 1_631_266_595_440, {"component": "input:0", "id": 0, "event": "single_push"}
    )


def test_several_events_in_one_frame_are_one_report_each():
    events = [
        {"component": "input:0", "event": "btn_down", "ts": TS},
        {"component": "input:0", "event": "btn_up"},
    ]
    reports = _translate("dev/events/rpc", _frame("NotifyEvent", events=events)).reports
    assert [(r.event.type, r.event.ts_ms) for r in reports] == [
        ("btn_down", TS_MS),
        ("btn_up", TS_MS),
    ]


def test_configuration_and_update_events_are_not_kept():
    events = [{"component": "sys", "event": "ota_progress", "progress_percent": 40}]
    [report] = _translate("dev/events/rpc", _frame("NotifyEvent", events=events)).reports
    assert report.event is None and report.skipped == ["sys/ota_progress"]


def test_an_event_with_an_unreadable_time_is_refused_alone():
    events = [
        {"component": "input:0", "event": "single_push", "ts": "soon"},
        {"event": "long_push"},
    ]
    [report] = _translate("dev/events/rpc", _frame("NotifyEvent", events=events)).reports
    assert report.event.type == "long_push"
    assert [p.reason for p in report.problems] == ["bad_timestamp"]


def test_a_clock_not_yet_set_means_the_time_of_receipt():
    payload = json.dumps(
        {"method": "NotifyStatus", "params": {"ts": 3.5, "humidity:0": {"rh": 40}}}
    ).encode()
    assert _report("dev/events/rpc", payload).readings[0].ts_ms is None


def test_a_multi_level_prefix_names_the_device_by_the_levels_its_wildcard_matched():
    report = _report("xiashan/shelly/lamp-4/online", b"true", prefixes=["xiashan/shelly/+"])
    assert (report.device, report.presence) == ("lamp-4", "online")


def test_other_rpc_notifications_are_quiet():
    translation = _translate("dev/events/rpc", _frame("NotifySomethingNew"))
    assert translation.quiet and not translation.reports and not translation.problems


@pytest.mark.parametrize(
    ("topic", "payload", "reason"),
    [
        ("dev/online", b"maybe", "bad_payload"),
        ("dev/events/rpc", b"NotifyStatus", "bad_json"),
        ("dev/events/rpc", b'{"method":"NotifyStatus"}', "bad_payload"),
        ("dev/events/rpc", b'{"method":"NotifyStatus","params":{"ts":"now"}}', "bad_timestamp"),
        ("dev/events/rpc", b'{"method":"NotifyEvent","params":{"ts":1}}', "bad_payload"),
        ("dev/status/switch:0", b"[1]", "bad_payload"),
        ("dev/rpc", b'{"method":"Switch.Set"}', "bad_topic"),
        ("a/b/online", b"true", "bad_topic"),
        ("online", b"true", "bad_topic"),
    ],
)
def test_messages_it_cannot_read_are_refused_with_a_reason(topic, payload, reason):
    translation = _translate(topic, payload)
    assert [p.reason for p in translation.problems] == [reason] and not translation.reports


@pytest.mark.parametrize(
    "payload",
    [
        b'{"method":"NotifyStatus","params":{"ts":1e308,"switch:0":{"aenergy":{"a":{"b":{"c":1}}}}}}',
        b'{"method":"NotifyStatus","params":{"ts":' + b"9" * 400 + b"}}",
        b'{"method":"NotifyEvent","params":{"ts":NaN,"events":[1,{"event":7},{"event":""}]}}',
        b'{"method":"NotifyFullStatus","params":{"switch:0":null,"x":[1],"ts":null}}',
        b'{"method":7,"params":[]}',
        b"\xff\xfe",
    ],
)
def test_no_payload_makes_the_adapter_raise(payload):
    adapter = _adapter()
    for topic in ("d/events/rpc", "d/online", "d/status/switch:0"):
        adapter.translate(topic, payload, NOW_MS, None)


def test_an_unknown_option_is_a_configuration_error():
    with pytest.raises(ValueError, match=r"ingest.sources\[0\] \(shelly\).*prefix"):
        _adapter(prefix="shellies")
