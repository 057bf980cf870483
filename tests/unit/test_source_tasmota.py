"""Tasmota messages, as its documentation shows them, become our readings and presence."""

from __future__ import annotations

import pytest

from village_brain.core.catalog import default_catalog
from village_brain.core.records import RawReading
from village_brain.ingest.sources.registry import build_adapter

from support.adapter_fixtures import fixture_adapter, load_fixture, outcomes

FIXTURE = load_fixture("tasmota")
MESSAGES = FIXTURE["message"]
NOW_MS = 1_795_939_200_000
TELEINFO = (
    b'{"Time":"2021-10-26T17:28:45","ENERGY":{"TotalStartTime":"2021-10-25T15:22:04",'
    b'"Total":9098.245,"Yesterday":6822.685,"Today":2275.560,"Period": 9,"Power":170,'
    b'"Current":1.000,"Load":6},"ESP32":{"Temperature":36.1},"TempUnit":"C"}'
)


def _adapter(**options):
    raw = {"adapter": "tasmota", "village": "xiashan", **options}
    return build_adapter(raw, default_catalog(), "ingest.sources[0]")


def _sample(name: str) -> tuple[str, bytes]:
    message = next(m for m in MESSAGES if m["name"].startswith(name))
    return message["topic"], message["payload"].encode()


def _report(topic: str, payload: bytes, **options):
    [report] = _adapter(**options).translate(topic, payload, NOW_MS, None).reports
    return report


@pytest.mark.parametrize("message", MESSAGES, ids=[m["name"] for m in MESSAGES])
def test_each_fixture_message_gives_exactly_its_expected_entries(message):
    shown = outcomes(fixture_adapter(FIXTURE), message)
    assert not [entry for entry in shown if "refused" in entry]
    for expected in message.get("expect", []):
        assert expected in shown


def test_it_subscribes_to_telemetry_and_status_under_the_default_full_topic():
    assert _adapter().subscriptions() == ["tele/+/#", "stat/+/#"]


def test_a_custom_full_topic_puts_the_prefix_where_the_template_says():
    adapter = _adapter(full_topic="emoncms/ch2i/factory/%topic%/%prefix%/")
    assert adapter.subscriptions() == [
        "emoncms/ch2i/factory/+/tele/#",
        "emoncms/ch2i/factory/+/stat/#",
    ]
    topic = "emoncms/ch2i/factory/denky_D6C0C0/tele/SENSOR"
    [report] = adapter.translate(topic, TELEINFO, NOW_MS, None).reports
    assert (report.device, report.foreign_id) == ("denky_d6c0c0", "denky_D6C0C0")
    assert RawReading("energy", 9098.245, "kWh", 1_635_240_525_000) in report.readings


def test_renamed_prefixes_are_subscribed_and_read():
    adapter = _adapter(prefixes={"tele": "telemetry", "stat": "status"})
    assert adapter.subscriptions() == ["telemetry/+/#", "status/+/#"]
    [report] = adapter.translate("status/lamp-7/POWER", b"ON", NOW_MS, None).reports
    assert report.readings == [RawReading("lamp_state", "ON", None, None)]


def test_the_esp32_chips_own_temperature_is_not_the_airs():
    report = _report("tele/denky_D6C0C0/SENSOR", TELEINFO)
    assert "air_temperature" not in {r.sensor for r in report.readings}
    assert "ESP32.Temperature" in report.skipped


def test_a_source_can_map_the_esp32_temperature_back_in():
    fields = {"ESP32.Temperature": "air_temperature"}
    report = _report("tele/denky_D6C0C0/SENSOR", TELEINFO, fields=fields)
    assert RawReading("air_temperature", 36.1, "Cel", 1_635_240_525_000) in report.readings


def test_a_time_without_an_offset_is_read_in_the_sources_time_zone():
    payload = b'{"Time":"2026-11-29T08:00:00","AM2301":{"Temperature":20.5}}'
    shanghai = _report("tele/t/SENSOR", payload)
    berlin = _report("tele/t/SENSOR", payload, time_zone="Europe/Berlin")
    assert shanghai.readings[0].ts_ms == 1_795_910_400_000  # 2026-11-29T00:00:00Z
    assert berlin.readings[0].ts_ms - shanghai.readings[0].ts_ms == 7 * 3_600_000


def test_a_time_with_an_offset_is_used_as_sent_whatever_the_time_zone():
    payload = b'{"Time":"2026-11-29T09:00:00+01:00","AM2301":{"Temperature":20.5}}'
    report = _report("tele/t/SENSOR", payload, time_zone="America/New_York")
    assert report.readings[0].ts_ms == 1_795_939_200_000


def test_epoch_seconds_are_preferred_to_the_local_time():
    payload = b'{"Time":"2019-09-04T13:08:48","Epoch":1567595328,"POWER":"ON"}'
    assert _report("tele/t/STATE", payload).readings[0].ts_ms == 1_567_595_328_000


def test_device_time_false_stamps_readings_on_receipt():
    payload = b'{"Time":"2019-01-01T00:00:00","AM2301":{"Temperature":24.6}}'
    report = _report("tele/t/SENSOR", payload, device_time=False)
    assert report.readings == [RawReading("air_temperature", 24.6, "Cel", None)]


def test_a_clock_not_yet_set_by_ntp_means_the_time_of_receipt():
    payload = b'{"Time":"1970-01-01T00:03:12","AM2301":{"Temperature":24.6}}'
    assert _report("tele/t/SENSOR", payload).readings[0].ts_ms is None


def test_an_unreadable_time_refuses_the_message():
    payload = b'{"Time":"2018.02.01 21:29:40","AM2301":{"Temperature":24.6}}'
    translation = _adapter().translate("tele/t/SENSOR", payload, NOW_MS, None)
    assert [p.reason for p in translation.problems] == ["bad_timestamp"]
    assert "device_time = false" in translation.problems[0].detail


def test_pressure_in_mmhg_is_marked_for_the_catalog_to_convert():
    payload = b'{"BME280":{"Pressure":741.5},"PressureUnit":"mmHg"}'
    assert _report("tele/t/SENSOR", payload).readings == [
        RawReading("air_pressure", 741.5, "mm[Hg]", None)
    ]


def test_a_temperature_mapped_by_a_source_still_follows_tempunit():
    payload = b'{"DS18B20":{"Id":"030597946B04","Temperature":68.0},"TempUnit":"F"}'
    report = _report("tele/t/SENSOR", payload, fields={"DS18B20.Temperature": "soil_temperature"})
    assert report.readings == [RawReading("soil_temperature", 68.0, "[degF]", None)]


def test_a_sensor_that_failed_to_read_is_skipped_not_refused():
    payload = b'{"AM2301":{"Temperature":null,"Humidity":null},"TempUnit":"C"}'
    report = _report("tele/t/SENSOR", payload)
    assert not report.readings and report.skipped == ["AM2301.Temperature", "AM2301.Humidity"]


def test_values_at_the_top_level_are_read_too():
    payload = b'{"Time":"2018-02-16T16:18:49","Temperature":25,"Humidity":83,"Light":10}'
    report = _report("tele/sonoff_sc/SENSOR", payload)
    assert {r.sensor for r in report.readings} == {"air_temperature", "air_humidity"}
    assert report.skipped == ["Light"]


def test_a_second_relay_is_listed_as_skipped():
    payload = b'{"POWER1":"ON","POWER2":"OFF"}'
    report = _report("tele/t/STATE", payload)
    assert report.readings == [RawReading("lamp_state", "ON", None, None)]
    assert report.skipped == ["POWER2"]


def test_a_plug_that_drives_no_lamp_can_leave_power_unmapped():
    report = _report("stat/pump_plug/POWER", b"ON", fields={"POWER": False})
    assert not report.readings and report.skipped == ["POWER"]


def test_an_empty_power_message_clearing_a_retained_one_is_skipped():
    report = _report("stat/lamp/POWER", b"")
    assert not report.readings and report.skipped == ["POWER"]


def test_lwt_is_presence_in_either_case():
    assert _report("tele/t/LWT", b"Online").presence == "online"
    assert _report("tele/t/LWT", b"offline").presence == "offline"


@pytest.mark.parametrize(
    ("topic", "payload"),
    [
        ("tele/t/INFO1", b'{"Module":"Generic","Version":"13.2.0"}'),
        ("tele/t/UPTIME", b'{"Time":"2019-01-01T00:00:00","Uptime":"0T01:00:00"}'),
        ("stat/t/RESULT", b'{"TelePeriod":300}'),
        ("stat/t/STATUS5", b'{"StatusNET":{"Hostname":"t"}}'),
        ("cmnd/t/POWER", b"TOGGLE"),
    ],
)
def test_messages_that_carry_no_reading_are_quiet(topic, payload):
    translation = _adapter().translate(topic, payload, NOW_MS, None)
    assert translation.quiet and not translation.reports and not translation.problems


@pytest.mark.parametrize(
    ("topic", "payload", "reason"),
    [
        ("zigbee2mqtt/lamp", b"{}", "bad_topic"),
        ("tele/t/SENSOR", b"Temperature 20", "bad_json"),
        ("tele/t/SENSOR", b"[20.5]", "bad_payload"),
        ("tele/t/LWT", b"maybe", "bad_payload"),
    ],
)
def test_unreadable_messages_are_refused_with_a_reason(topic, payload, reason):
    translation = _adapter().translate(topic, payload, NOW_MS, None)
    assert [p.reason for p in translation.problems] == [reason] and not translation.reports


@pytest.mark.parametrize(
    "payload",
    [
        b'{"Epoch":1e308,"Time":"9999-12-31T23:59:59","POWER":"ON"}',
        b'{"Epoch":' + b"9" * 400 + b',"POWER":"ON"}',
        b'{"Time":"0001-01-01T00:00:00+14:00","A":{"Temperature":1}}',
        b'{"Time":12,"POWER":"ON"}',
        b'{"ENERGY":{"Current":[1.32,2.1],"Power":{"a":{"b":1}}},"TempUnit":[1]}',
        b'{"AM2301":{"Temperature":NaN,"Humidity":"80.00"},"TempUnit":"K"}',
        b"\xff\xfe",
    ],
)
def test_no_payload_makes_the_adapter_raise(payload):
    adapter = _adapter()
    for topic in ("tele/t/SENSOR", "tele/t/STATE", "stat/t/RESULT", "stat/t/POWER", "tele/t/LWT"):
        adapter.translate(topic, payload, NOW_MS, None)


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"full_topic": "tasmota/%prefix%/"}, "%topic%"),
        ({"full_topic": "%prefix%/%topic%/%mac%/"}, "%mac%"),
        ({"full_topic": "%prefix%/+/%topic%/"}, "wildcards"),
        ({"prefixes": {"tele": "stat"}}, "differ"),
        ({"prefixes": {"telemetry": "tele"}}, "telemetry"),
        ({"time_zone": "Asia/Shangai"}, "Asia/Shangai"),
        ({"fields": {"Temperature": "air_temprature"}}, "air_temprature"),
        ({"village": "Xia Shan"}, "village id"),
    ],
)
def test_a_wrong_option_is_a_configuration_error_that_names_it(options, named):
    with pytest.raises(ValueError, match=r"ingest.sources\[0\] \(tasmota\)") as caught:
        _adapter(**options)
    assert named in str(caught.value)
