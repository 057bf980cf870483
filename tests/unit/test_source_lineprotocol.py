"""Line protocol over MQTT, as Telegraf sends it: devices from tags, fields to sensor types."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from village_brain.core.catalog import default_catalog
from village_brain.core.records import RawReading, Reading
from village_brain.ingest.sources.base import Translation
from village_brain.ingest.sources.registry import build_adapter
from village_brain.ingest.validate import TimeWindow, check_reading

FIXTURE = tomllib.loads(
    (Path(__file__).parents[1] / "fixtures" / "adapters" / "lineprotocol.toml").read_text("utf-8")
)
MESSAGES = FIXTURE["message"]
NOW_MS = 1_795_939_200_000
ANY_TIME = TimeWindow(max_clock_skew_ms=10**15, max_backfill_ms=10**15)
TOPIC = "telegraf/gw/sensors"


def adapter(**options):
    raw = {"adapter": "lineprotocol", "village": "xiashan", **options}
    return build_adapter(raw, default_catalog(), "ingest.sources[0]")


def translate(body: bytes, **options) -> Translation:
    return adapter(**options).translate(TOPIC, body, NOW_MS, None)


def shown(translation: Translation) -> list[dict]:
    """What the API would show: each reading checked and in its canonical unit."""
    shown = []
    for report in translation.reports:
        for raw in report.readings:
            checked = check_reading(
                raw, default_catalog(), report.village, report.device, NOW_MS, ANY_TIME
            )
            assert isinstance(checked, Reading), checked
            entry = {"device": report.device, "sensor": checked.sensor, "value": checked.value}
            if raw.ts_ms is not None:
                entry["ts_ms"] = checked.ts_ms
            shown.append(entry)
    return shown


@pytest.mark.parametrize("message", MESSAGES, ids=[m["name"] for m in MESSAGES])
def test_each_fixture_message_shows_exactly_its_expectations(message: dict):
    source = build_adapter(dict(FIXTURE["source"]), default_catalog(), "ingest.sources[0]")
    translation = source.translate(message["topic"], message["payload"].encode(), NOW_MS, None)
    assert shown(translation) == message["expect"]


@pytest.mark.parametrize(
    ("start", "refusals"),
    [
        ("a batch with a malformed line", 1),
        ("refused: the InfluxDB 1.x", 1),
        ("refused: layout field", 1),
        ("Telegraf README", 0),
    ],
)
def test_fixture_lines_that_cannot_be_read_are_refused_one_by_one(start: str, refusals: int):
    message = next(m for m in MESSAGES if m["name"].startswith(start))
    source = build_adapter(dict(FIXTURE["source"]), default_catalog(), "ingest.sources[0]")
    translation = source.translate(message["topic"], message["payload"].encode(), NOW_MS, None)
    assert [p.reason for p in translation.problems] == ["bad_payload"] * refusals


# Devices and villages.


def test_the_device_is_the_device_tag_before_the_host_tag():
    translation = translate(b"m,host=gw,device=Tank\\ 1 temperature=1\nm,host=gw temperature=2")
    assert [(r.device, r.foreign_id) for r in translation.reports] == [
        ("tank-1-4ae6cf", "Tank 1"),
        ("gw", "gw"),
    ]


def test_a_configured_device_tag_replaces_device():
    [report] = translate(b"m,host=gw,sensor=s7 temperature=1", device_tag="sensor").reports
    assert report.device == "s7"


def test_an_id_prefix_goes_before_the_device_id():
    [report] = translate(b"m,host=gw temperature=1", id_prefix="tg-").reports
    assert report.device == "tg-gw"


def test_a_line_naming_no_device_is_refused_and_says_which_tags_it_looked_for():
    [problem] = translate(b"m temperature=1").problems
    assert problem.reason == "bad_payload"
    assert "'device'" in problem.detail and "'host'" in problem.detail


def test_the_lines_of_one_device_share_one_report_in_written_order():
    body = b"a,host=gw temperature=1 1000000\nb,host=other humidity=2\nc,host=gw humidity=3"
    translation = translate(body)
    assert [r.device for r in translation.reports] == ["gw", "other"]
    first = translation.reports[0]
    assert [r.sensor for r in first.readings] == ["air_temperature", "air_humidity"]


def test_a_village_tag_gives_the_village_and_the_option_is_the_fallback():
    body = b"m,host=gw,village=dongling temperature=1\nm,host=gw temperature=2"
    translation = translate(body, village_tag="village")
    assert [(r.village, r.device) for r in translation.reports] == [
        ("dongling", "gw"),
        ("xiashan", "gw"),
    ]


def test_a_village_tag_alone_is_enough_and_a_line_without_it_is_refused():
    body = b"m,host=gw,village=dongling temperature=1\nm,host=gw temperature=2"
    raw = {"adapter": "lineprotocol", "village_tag": "village"}
    translation = build_adapter(raw, default_catalog(), "s").translate(TOPIC, body, NOW_MS, None)
    assert [r.village for r in translation.reports] == ["dongling"]
    [problem] = translation.problems
    assert "no 'village' tag" in problem.detail


def test_a_village_tag_that_is_not_a_village_id_refuses_its_line():
    [problem] = translate(b"m,host=gw,village=Dong\\ Ling t=1", village_tag="village").problems
    assert problem.reason == "bad_payload" and "village" in problem.detail


# Fields to sensor types.


def test_fields_no_table_maps_are_skipped_and_listed():
    [report] = translate(b'm,host=gw temperature=1,uptime=5i,label="x"').reports
    assert report.skipped == ["uptime", "label"]


def test_an_override_gives_a_field_s_unit_and_the_catalog_converts_it():
    fields = {"temperature": {"sensor": "air_temperature", "unit": "[degF]"}}
    translation = translate(b"weather,host=gw temperature=82 1465839830100400200", fields=fields)
    assert shown(translation) == [
        {
            "device": "gw",
            "sensor": "air_temperature",
            "value": pytest.approx(27.7777777),
            "ts_ms": 1465839830100,
        }
    ]


def test_an_override_maps_a_boolean_field_to_a_boolean_sensor_type():
    [report] = translate(b"m,host=gw supplied=true", fields={"supplied": "lamp_state"}).reports
    assert report.readings == [RawReading("lamp_state", True, None, None)]


def test_an_override_of_false_ignores_a_field():
    [report] = translate(b"m,host=gw temperature=1", fields={"temperature": False}).reports
    assert not report.readings and report.skipped == ["temperature"]


def test_measurement_field_keys_are_looked_up_before_the_field_alone():
    body = b"ds18b20,host=gw temperature=9\nsht31,host=gw temperature=21,humidity=50"
    fields = {"ds18b20_temperature": "soil_temperature"}
    [report] = translate(body, sensor_key="measurement_field", fields=fields).reports
    assert [r.sensor for r in report.readings] == [
        "soil_temperature",
        "air_temperature",
        "air_humidity",
    ]


def test_measurement_field_keys_are_not_looked_up_by_default():
    body = b"ds18b20,host=gw temperature=9"
    [report] = translate(body, fields={"ds18b20_temperature": "soil_temperature"}).reports
    assert [r.sensor for r in report.readings] == ["air_temperature"]


# Times.


@pytest.mark.parametrize(
    ("precision", "written"),
    [
        ("ns", b"1676522982000000000"),
        ("us", b"1676522982000000"),
        ("ms", b"1676522982000"),
        ("s", b"1676522982"),
    ],
)
def test_timestamps_are_read_in_the_configured_precision(precision: str, written: bytes):
    [report] = translate(b"m,host=gw temperature=1 " + written, precision=precision).reports
    assert report.readings[0].ts_ms == 1_676_522_982_000


def test_a_line_without_a_timestamp_is_left_for_the_pipeline_to_stamp():
    [report] = translate(b"m,host=gw temperature=1").reports
    assert report.readings[0].ts_ms is None


# Messages and options.


@pytest.mark.parametrize("body", [b"", b"\n\n", b"# just a comment\n"])
def test_a_message_without_lines_is_refused(body: bytes):
    translation = translate(body)
    assert [p.reason for p in translation.problems] == ["bad_payload"] and not translation.reports


def test_it_subscribes_to_telegraf_s_default_topics_or_the_ones_configured():
    assert adapter().subscriptions() == ["telegraf/#"]
    assert adapter(topics=["site/+/metrics", "lp/#"]).subscriptions() == ["site/+/metrics", "lp/#"]


@pytest.mark.parametrize(
    ("options", "words"),
    [
        ({"village": ""}, "village_tag"),
        ({"village": "Xia Shan"}, "village"),
        ({"topics": []}, "topics is empty"),
        ({"topics": ["telegraf/#/x"]}, "'#'"),
        ({"topics": ["tele+graf"]}, "'+'"),
        ({"device_tag": ""}, "device_tag"),
        ({"precision": "min"}, "precision"),
        ({"sensor_key": "tag"}, "sensor_key"),
        ({"fields": {"temperature": "air_temprature"}}, "air_temprature"),
        ({"device": "host"}, "device"),
    ],
)
def test_a_bad_option_is_a_configuration_error_naming_it(options: dict, words: str):
    with pytest.raises(ValueError, match=r"ingest.sources\[0\] \(lineprotocol\)") as caught:
        adapter(**options)
    assert words in str(caught.value)
