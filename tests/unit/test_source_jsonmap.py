"""Generic JSON mapping: topics and JMESPath expressions from the configuration become readings."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from village_brain.core.catalog import default_catalog
from village_brain.core.records import RawReading
from village_brain.ingest.sources.registry import build_adapter

FIXTURE = tomllib.loads(
    (Path(__file__).parents[1] / "fixtures" / "adapters" / "jsonmap.toml").read_text("utf-8")
)
NOW_MS = 1_795_939_200_000
FARM = {
    "adapter": "jsonmap",
    "topic": "farm/{village}/{device}/data",
    "sensors": {"soil_moisture": "moisture", "soil_temperature": {"path": "temp", "unit": "Cel"}},
}


def _adapter(**options):
    raw = {**FARM, **options}
    return build_adapter(raw, default_catalog(), "ingest.sources[2]")


def _dtu(**options):
    return build_adapter({**FIXTURE["source"], **options}, default_catalog(), "ingest.sources[0]")


def _sample(name: str) -> tuple[str, bytes]:
    message = next(m for m in FIXTURE["message"] if m["name"].startswith(name))
    return message["topic"], message["payload"].encode()


def _translate(adapter, topic: str, payload: bytes | str):
    payload = payload.encode() if isinstance(payload, str) else payload
    return adapter.translate(topic, payload, NOW_MS, None)


def test_named_levels_become_single_level_wildcards_in_the_subscription():
    assert _adapter().subscriptions() == ["farm/+/+/data"]
    assert _dtu().subscriptions() == ["dtu/+/up", "dtu/+/status"]


def test_the_village_and_device_come_from_the_topic():
    [report] = _translate(_adapter(), "farm/xiashan/Plot-7/data", '{"moisture": 31.5}').reports
    assert (report.village, report.device, report.foreign_id) == ("xiashan", "plot-7", "Plot-7")
    assert report.readings == [RawReading("soil_moisture", 31.5, None, None)]
    assert report.skipped == ["soil_temperature"]


def test_the_4g_logger_sample_gives_its_readings_at_its_own_time():
    topic, payload = _sample("uplink with level, battery")
    [report] = _translate(_dtu(), topic, payload).reports
    ts = 1_733_040_000_000
    assert (report.device, report.village) == ("861234050012345", "xiashan")
    assert report.readings == [
        RawReading("water_level", 1.42, None, ts),
        RawReading("battery_voltage", 3.61, None, ts),
    ]


def test_units_and_scales_from_the_configuration_go_with_the_reading():
    topic, payload = _sample("uplink with rain-gauge tips")
    [report] = _translate(_dtu(), topic, payload).reports
    assert RawReading("rainfall", 1.0, "mm", 1_733_040_600_000) in report.readings
    assert RawReading("water_level", 1.47, None, 1_733_040_600_000) in report.readings


def test_a_device_id_sent_as_a_json_number_is_read_as_text():
    topic, payload = _sample("a second logger")
    assert _translate(_dtu(), topic, payload).reports[0].device == "861234050067890"


@pytest.mark.parametrize(
    ("timestamp", "raw", "ts_ms"),
    [
        ({"path": "t"}, "1733040000123", 1_733_040_000_123),
        ({"path": "t", "format": "s"}, "1733040000.5", 1_733_040_000_500),
        ({"path": "t", "format": "s"}, '"1733040000"', 1_733_040_000_000),
        ({"path": "t", "format": "rfc3339"}, '"2024-12-01T16:00:00+08:00"', 1_733_040_000_000),
        ({"path": "meta.time", "format": "rfc3339"}, "null", None),
    ],
)
def test_the_reading_time_is_read_in_the_configured_format(timestamp, raw, ts_ms):
    adapter = _adapter(timestamp=timestamp)
    payload = f'{{"moisture": 30, "t": {raw}}}'
    [report] = _translate(adapter, "farm/xiashan/p1/data", payload).reports
    assert [r.ts_ms for r in report.readings] == [ts_ms]


@pytest.mark.parametrize(
    ("format_", "raw"),
    [("ms", '"soon"'), ("s", "true"), ("rfc3339", "1733040000"), ("rfc3339", '"2024-12-01 16:00"')],
)
def test_a_time_that_cannot_be_read_refuses_the_message(format_, raw):
    adapter = _adapter(timestamp={"path": "t", "format": format_})
    translation = _translate(adapter, "farm/xiashan/p1/data", f'{{"moisture": 30, "t": {raw}}}')
    assert [p.reason for p in translation.problems] == ["bad_timestamp"] and not translation.reports


def test_a_fixed_village_and_a_device_from_the_payload():
    adapter = _adapter(topic="gw/+/uplink", village="xiashan", device_path="meta.sn")
    payload = '{"meta": {"sn": "SN-0042"}, "moisture": 28}'
    [report] = _translate(adapter, "gw/abc/uplink", payload).reports
    assert (report.village, report.device, report.foreign_id) == ("xiashan", "sn-0042", "SN-0042")


def test_a_fixed_device_for_a_topic_that_names_none():
    adapter = _adapter(topic="pumphouse/telemetry", village="xiashan", device="pump-1")
    [report] = _translate(adapter, "pumphouse/telemetry", '{"moisture": 28}').reports
    assert report.device == "pump-1"


def test_a_device_level_with_text_around_it_and_a_trailing_multi_level_wildcard():
    adapter = _adapter(topic="site/{village}/node-{device}/#")
    assert adapter.subscriptions() == ["site/+/+/#"]
    [report] = _translate(adapter, "site/xiashan/node-12/a/b", '{"moisture": 1}').reports
    assert report.device == "12"
    assert _translate(adapter, "site/xiashan/node-12", '{"moisture": 1}').reports


def test_jmespath_functions_and_filters_can_pick_values():
    sensors = {
        "soil_moisture": "to_number(m)",
        "rssi": "metrics[?name=='rssi'].value | [0]",
        "battery_voltage": {"path": "bat_mv", "unit": "mV"},
    }
    adapter = _adapter(sensors=sensors)
    payload = '{"m": "40.5", "metrics": [{"name": "rssi", "value": -87}], "bat_mv": 3610}'
    [report] = _translate(adapter, "farm/xiashan/p1/data", payload).reports
    assert report.readings == [
        RawReading("soil_moisture", 40.5, None, None),
        RawReading("rssi", -87.0, None, None),
        RawReading("battery_voltage", 3610.0, "mV", None),
    ]


def test_a_path_that_finds_an_object_refuses_that_reading_only():
    payload = '{"moisture": {"value": 30}, "temp": 18.5}'
    [report] = _translate(_adapter(), "farm/xiashan/p1/data", payload).reports
    assert report.readings == [RawReading("soil_temperature", 18.5, "Cel", None)]
    [problem] = report.problems
    assert problem.reason == "wrong_type" and "soil_moisture" in problem.detail


def test_a_function_that_does_not_fit_the_payload_refuses_that_reading_only():
    adapter = _adapter(sensors={"soil_moisture": "abs(m)", "soil_temperature": "temp"})
    [report] = _translate(adapter, "farm/xiashan/p1/data", '{"m": "x", "temp": 3}').reports
    assert [p.reason for p in report.problems] == ["wrong_type"]
    assert report.readings == [RawReading("soil_temperature", 3.0, None, None)]


@pytest.mark.parametrize(
    ("topic", "payload", "reason"),
    [
        ("other/xiashan/p1/data", '{"moisture": 1}', "bad_topic"),
        ("farm/Xia Shan/p1/data", '{"moisture": 1}', "bad_topic"),
        ("farm/xiashan/p1/data", "moisture=1", "bad_json"),
    ],
)
def test_messages_that_cannot_be_read_are_refused_with_a_reason(topic, payload, reason):
    translation = _translate(_adapter(), topic, payload)
    assert [p.reason for p in translation.problems] == [reason] and not translation.reports


@pytest.mark.parametrize(
    "payload", ['{"meta": {}}', '{"meta": {"sn": true}}', '{"meta": {"sn": ""}}']
)
def test_a_payload_without_a_usable_device_id_is_refused(payload):
    adapter = _adapter(topic="gw/uplink", village="xiashan", device_path="meta.sn")
    translation = _translate(adapter, "gw/uplink", payload)
    [problem] = translation.problems
    assert problem.reason == "bad_payload" and "meta.sn" in problem.detail


@pytest.mark.parametrize(("word", "presence"), [("online", "online"), ("OFFLINE", "offline")])
def test_presence_words_are_matched_without_regard_to_case(word, presence):
    [report] = _translate(_dtu(), "dtu/861234050012345/status", word).reports
    assert (report.device, report.presence) == ("861234050012345", presence)


def test_presence_can_be_read_from_a_json_payload():
    adapter = _adapter(
        presence={
            "topic": "farm/{village}/{device}/state",
            "path": "online",
            "online": ["true"],
            "offline": ["false"],
        }
    )
    [report] = _translate(adapter, "farm/xiashan/p1/state", '{"online": false}').reports
    assert report.presence == "offline"


def test_an_unknown_presence_word_is_refused():
    translation = _translate(_dtu(), "dtu/861234050012345/status", "rebooting")
    [problem] = translation.problems
    assert problem.reason == "bad_payload" and "'rebooting'" in problem.detail


@pytest.mark.parametrize(
    "payload",
    [
        b"",
        b"\xff",
        b"null",
        b"[]",
        b'"x"',
        b"1e999",
        b'{"moisture": 1' + b"0" * 5000 + b"}",
        b'{"t": {"x": 1}}',
        b"[" * 50 + b"]" * 50,
    ],
)
def test_no_payload_makes_it_raise(payload):
    adapter = _adapter(
        timestamp={"path": "t", "format": "s"},
        sensors={"soil_moisture": "moisture", "rssi": "sum(@)"},
        presence={"topic": "farm/{village}/{device}/state", "path": "s"},
    )
    for topic in ("farm/xiashan/p1/data", "farm/xiashan/p1/state", "x"):
        adapter.translate(topic, payload, NOW_MS, None)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"sensors": {"soil_moisture": "moisture.["}}, r"sensors\.soil_moisture: 'moisture\.\['"),
        ({"sensors": {"soil_moisture": ""}}, r"sensors\.soil_moisture: '' is not a JMESPath"),
        ({"sensors": {"soil_moistur": "m"}}, "soil_moistur' is not a sensor type"),
        ({"sensors": {"water_level": {"path": "l", "unit": "ft"}}}, "converted from 'ft'"),
        ({"sensors": {}}, "sensors is empty"),
        ({"topic": "farm/{village}/{devic}/data"}, r"\{devic\} is not one of"),
        ({"topic": "farm/{village}/data"}, "give the device in one way"),
        ({"village": "xiashan"}, "not both"),
        ({"device_path": "sn"}, "not several"),
        ({"topic": "farm/#/data"}, "# may only be the last level"),
        ({"topic": "farm/{village}{device}"}, "more than one"),
        ({"topic": "farm/{village}/{device/x"}, "unmatched brace"),
        ({"topic": "farm/{village}/{device}/a+"}, "a wildcard must be a whole level"),
        ({"timestamp": {"path": "t", "format": "minutes"}}, "minutes"),
        (
            {"presence": {"topic": "farm/{village}/status"}},
            r"presence.topic must have a \{device\}",
        ),
        (
            {
                "presence": {
                    "topic": "farm/{village}/{device}/s",
                    "online": ["up"],
                    "offline": ["up"],
                }
            },
            "both online and offline",
        ),
        ({"village": "Xia Shan", "topic": "farm/{device}"}, "village id"),
        ({"snsors": {}}, "snsors"),
    ],
)
def test_configuration_mistakes_name_the_source_and_what_to_fix(options, message):
    with pytest.raises(ValueError, match=r"ingest.sources\[2\] \(jsonmap\)") as raised:
        _adapter(**options)
    assert raised.match(message)
