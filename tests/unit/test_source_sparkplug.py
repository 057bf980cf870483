"""Sparkplug B: sessions from BIRTHs, DATA by alias, presence from DEATHs, rebirth requests."""

from __future__ import annotations

import importlib.util
import random
import tomllib
from pathlib import Path

import pytest
from google.protobuf.descriptor import FieldDescriptor

from village_brain.core.catalog import default_catalog
from village_brain.core.records import Problem, RawReading, Reading
from village_brain.ingest.sources.base import Translation
from village_brain.ingest.sources.registry import build_adapter
from village_brain.ingest.sources.sparkplug_b import Payload, data_type
from village_brain.ingest.validate import TimeWindow, check_reading

FIXTURE_DIR = Path(__file__).parents[1] / "fixtures" / "adapters"
FIXTURE = tomllib.loads((FIXTURE_DIR / "sparkplug.toml").read_text("utf-8"))
MESSAGES = FIXTURE["message"]
T = 1486144502122
NODE, DEVICE = "raspberry-pi-4cac88", "raspberry-pi-pibrella-29973b"
GROUP = "Sparkplug B Devices"
ANY_TIME = TimeWindow(max_clock_skew_ms=10**15, max_backfill_ms=10**15)

# The specification's example messages as pysparkplug 0.6.1's generated code encodes them.
SPEC_NDATA = "08eaf2f5a8a02b121e0a0e537570706c7920566f6c7461676518eaf2f5a8a02b200965cdcc44411802"
SPEC_NDEATH = "08eaf2f5a8a02b12120a05626453657118eaf2f5a8a02b20085800"
SPEC_REBIRTH = (
    "08eaf2f5a8a02b12210a144e6f646520436f6e74726f6c2f5265626972746818eaf2f5a8a02b200b7001"
)
SPEC_DDATA_ALIAS_7 = "08eaf2f5a8a02b120f100718eaf2f5a8a02b50fbffffff0f1803"


def adapter(**options):
    raw = {"adapter": "sparkplug", "village": "xiashan", **options}
    return build_adapter(raw, default_catalog(), "ingest.sources[0]")


def fixture_adapter():
    return build_adapter(dict(FIXTURE["source"]), default_catalog(), "ingest.sources[0]")


def payload_of(message: dict) -> bytes:
    if "payload_hex" in message:
        return bytes.fromhex(message["payload_hex"])
    return message["payload"].encode()


def topic(kind: str, edge: str = "Raspberry Pi", device: str | None = None) -> str:
    return "/".join(p for p in ("spBv1.0", GROUP, kind, edge, device) if p)


def metric(name=None, type_name=None, value=None, ts=T, alias=None, **more) -> dict:
    built: dict = {"timestamp": ts, **more}
    if name is not None:
        built["name"] = name
    if alias is not None:
        built["alias"] = alias
    if type_name is not None:
        built["datatype"] = data_type(type_name)
    if value is not None:
        built[_field(type_name, value)] = value
    return built


def _field(type_name: str | None, value: object) -> str:
    if isinstance(value, bool):
        return "boolean_value"
    if isinstance(value, str):
        return "string_value"
    if isinstance(value, float):
        return "double_value" if type_name == "Double" else "float_value"
    return "long_value" if type_name in ("Int64", "UInt64", "DateTime") else "int_value"


def payload(*metrics: dict, seq: int | None = None, ts: int | None = T) -> bytes:
    built = Payload(metrics=list(metrics))
    if ts is not None:
        built.timestamp = ts
    if seq is not None:
        built.seq = seq
    return built.SerializeToString()


def birth(*metrics: dict, bd_seq: int = 0) -> bytes:
    return payload(metric("bdSeq", "Int64", bd_seq), *metrics, seq=0)


def session(*metrics: dict, **options):
    """An adapter with the edge node born, its own metrics those given."""
    source = adapter(**options)
    born = source.translate(topic("NBIRTH"), birth(*metrics), T, None)
    assert not born.problems and not born.reports[0].problems
    return source


def device_session(*metrics: dict, **options):
    """An adapter with the edge node and its device Pibrella born (seq 0 and 1)."""
    source = session(**options)
    born = source.translate(topic("DBIRTH", device="Pibrella"), payload(*metrics, seq=1), T, None)
    assert not born.problems and not born.reports[0].problems
    return source


def shown(translation: Translation) -> list[dict]:
    """What the API would show for a translation: presence, then readings in canonical units."""
    shown = []
    for report in translation.reports:
        if report.presence:
            shown.append({"device": report.device, "presence": report.presence})
        for raw in report.readings:
            checked = check_reading(raw, default_catalog(), "xiashan", report.device, T, ANY_TIME)
            assert isinstance(checked, Reading), checked
            shown.append(
                {"device": report.device, "sensor": checked.sensor, "value": checked.value}
                | {"ts_ms": checked.ts_ms}
            )
    return shown


def reasons(translation: Translation) -> list[str]:
    return [p.reason for p in translation.problems] + [
        p.reason for report in translation.reports for p in report.problems
    ]


# The fixture file.


def test_the_fixture_file_is_exactly_what_its_generator_writes():
    path = FIXTURE_DIR / "make_sparkplug.py"
    spec = importlib.util.spec_from_file_location("make_sparkplug", path)
    generator = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generator)
    assert generator.render() == (FIXTURE_DIR / "sparkplug.toml").read_text("utf-8")


@pytest.mark.parametrize(
    ("name", "expected_hex"),
    [
        ("NDATA of the specification", SPEC_NDATA),
        ("DDATA by alias only, an Int32 -5", SPEC_DDATA_ALIAS_7),
        ("NDEATH of the specification", SPEC_NDEATH),
        ("quiet: the rebirth NCMD of the specification", SPEC_REBIRTH),
    ],
)
def test_the_schema_encodes_the_specification_s_examples_as_another_implementation(
    name: str, expected_hex: str
):
    message = next(m for m in MESSAGES if m["name"].startswith(name))
    assert message["payload_hex"] == expected_hex


def _replayed() -> list[Translation]:
    source = fixture_adapter()
    return [source.translate(m["topic"], payload_of(m), T + 60_000, None) for m in MESSAGES]


REPLAYED = _replayed()


@pytest.mark.parametrize("index", range(len(MESSAGES)), ids=[m["name"] for m in MESSAGES])
def test_replaying_the_fixture_shows_exactly_each_message_s_expectations(index: int):
    assert shown(REPLAYED[index]) == MESSAGES[index]["expect"]


@pytest.mark.parametrize(
    ("start", "reason"),
    [
        ("refused: DDATA with an alias", "unknown_metric"),
        ("refused: NDATA after lost messages", "out_of_sequence"),
        ("refused: NDATA while the rebirth", "out_of_sequence"),
        ("refused: DDATA from an edge node never born", "unknown_metric"),
        ("malformed: a protobuf payload cut short", "bad_payload"),
        ("malformed: the specification's JSON", "bad_payload"),
        ("malformed: a varint", "bad_payload"),
        ("malformed: a metric longer", "bad_payload"),
        ("refused: a device message without its device id", "bad_topic"),
    ],
)
def test_each_refused_fixture_message_is_refused_for_its_reason(start: str, reason: str):
    index = next(i for i, m in enumerate(MESSAGES) if m["name"].startswith(start))
    assert reasons(REPLAYED[index]) == [reason]


@pytest.mark.parametrize("start", ["quiet: an NDEATH", "quiet: the rebirth NCMD", "quiet: a host"])
def test_quiet_fixture_messages_are_quiet(start: str):
    index = next(i for i, m in enumerate(MESSAGES) if m["name"].startswith(start))
    assert REPLAYED[index] == Translation(quiet=True)


# Births, devices and ids.


def test_an_nbirth_brings_the_edge_node_online_under_its_documented_ids():
    source = adapter()
    [report] = source.translate(topic("NBIRTH"), birth(), T, None).reports
    assert (report.device, report.village, report.foreign_id, report.presence) == (
        NODE,
        "xiashan",
        "Sparkplug B Devices/Raspberry Pi",
        "online",
    )


def test_a_device_s_id_is_its_edge_node_and_device_joined_by_a_hyphen():
    source = session()
    [report] = source.translate(topic("DBIRTH", device="Pibrella"), payload(seq=1), T, None).reports
    assert (report.device, report.foreign_id) == (DEVICE, f"{GROUP}/Raspberry Pi/Pibrella")


def test_an_id_prefix_goes_before_both_ids():
    source = adapter(id_prefix="spb-")
    [report] = source.translate(topic("NBIRTH", edge="gw1"), birth(), T, None).reports
    assert report.device == "spb-gw1"


def test_birth_values_are_readings_at_their_metric_timestamps():
    source = adapter()
    metrics = [metric("Temperature", "Float", 21.5, ts=T - 5), metric("Humidity", "Float", 40.0)]
    [report] = source.translate(topic("NBIRTH"), birth(*metrics), T, None).reports
    assert report.readings == [
        RawReading("air_temperature", 21.5, "Cel", T - 5),
        RawReading("air_humidity", 40.0, "%RH", T),
    ]


def test_a_metric_without_a_timestamp_takes_the_payload_s_and_without_both_the_receipt():
    source = session(metric("Temperature", "Float", 1.0))
    data = Payload(seq=1, metrics=[{"name": "Temperature", "float_value": 2.0}])
    [report] = source.translate(topic("NDATA"), data.SerializeToString(), T, None).reports
    assert report.readings[0].ts_ms is None
    data = payload({"name": "Temperature", "float_value": 3.0}, seq=2, ts=T + 9)
    [report] = source.translate(topic("NDATA"), data, T, None).reports
    assert report.readings[0].ts_ms == T + 9


# DATA in a session.


def test_ddata_by_alias_is_read_with_the_name_and_datatype_its_dbirth_gave():
    source = device_session(metric("Temperature", "Int32", 21, alias=7))
    data = bytes.fromhex(SPEC_DDATA_ALIAS_7)[:-1] + b"\x02"  # seq 2 here
    [report] = source.translate(topic("DDATA", device="Pibrella"), data, T, None).reports
    assert report.readings == [RawReading("air_temperature", -5.0, "Cel", T)]


def test_data_naming_a_metric_instead_of_an_alias_is_read_too():
    source = session(metric("Temperature", "Float", 1.0, alias=4))
    data = payload(metric("Temperature", value=2.5), seq=1)
    [report] = source.translate(topic("NDATA"), data, T, None).reports
    assert report.readings == [RawReading("air_temperature", 2.5, "Cel", T)]


def test_an_alias_of_another_device_is_not_this_device_s_metric():
    source = device_session(metric("Temperature", "Int32", 21, alias=7))
    source.translate(topic("DBIRTH", device="Other"), payload(seq=2), T, None)
    data = payload(metric(alias=7, value=5), seq=3)
    translation = source.translate(topic("DDATA", device="Other"), data, T, None)
    assert reasons(translation) == ["unknown_metric"] and translation.replies


def test_a_new_dbirth_replaces_the_device_s_aliases():
    source = device_session(metric("Temperature", "Int32", 21, alias=7))
    source.translate(
        topic("DBIRTH", device="Pibrella"),
        payload(metric("Humidity", "Float", 50.0, alias=9), seq=2),
        T,
        None,
    )
    data = payload(metric(alias=7, value=5), metric(alias=9, value=51.0), seq=3)
    [report] = source.translate(topic("DDATA", device="Pibrella"), data, T, None).reports
    assert report.readings == [RawReading("air_humidity", 51.0, "%RH", T)]
    assert [p.reason for p in report.problems] == ["unknown_metric"]


def test_an_unknown_alias_is_refused_and_a_rebirth_requested_while_known_metrics_are_kept():
    source = session(metric("Temperature", "Float", 1.0, alias=1))
    data = payload(metric(alias=1, value=2.0), metric(alias=99, value=3.0), seq=1)
    translation = source.translate(topic("NDATA"), data, T, None)
    [report] = translation.reports
    assert report.readings == [RawReading("air_temperature", 2.0, "Cel", T)]
    [problem] = report.problems
    assert problem.reason == "unknown_metric" and "alias 99" in problem.detail
    assert [r.topic for r in translation.replies] == [f"spBv1.0/{GROUP}/NCMD/Raspberry Pi"]


# Sequence numbers and rebirths.


def test_data_before_any_birth_is_refused_and_a_rebirth_requested():
    translation = adapter().translate(topic("NDATA"), bytes.fromhex(SPEC_NDATA), T, None)
    [problem] = translation.problems
    assert problem.reason == "unknown_metric" and "before its NBIRTH" in problem.detail
    assert not translation.reports and len(translation.replies) == 1


def test_a_dbirth_before_the_nbirth_is_refused_and_a_rebirth_requested():
    dbirth = payload(metric("Temperature", "Float", 1.0, alias=1), seq=1)
    translation = adapter().translate(topic("DBIRTH", device="Pibrella"), dbirth, T, None)
    assert reasons(translation) == ["unknown_metric"] and translation.replies


def test_the_rebirth_request_is_the_specification_s_ncmd():
    [reply] = adapter().translate(topic("NDATA"), bytes.fromhex(SPEC_NDATA), T, None).replies
    assert (reply.topic, reply.payload.hex(), reply.qos) == (
        "spBv1.0/Sparkplug B Devices/NCMD/Raspberry Pi",
        SPEC_REBIRTH,
        0,
    )


def test_a_gap_in_seq_refuses_the_message_and_the_session_until_the_next_nbirth():
    source = session(metric("Temperature", "Float", 1.0, alias=1))
    gap = source.translate(topic("NDATA"), payload(metric(alias=1, value=2.0), seq=5), T, None)
    assert reasons(gap) == ["out_of_sequence"] and "seq 5 where 1 was due" in gap.problems[0].detail
    assert gap.replies and not gap.reports
    after = source.translate(topic("NDATA"), payload(metric(alias=1, value=2.0), seq=6), T, None)
    assert reasons(after) == ["out_of_sequence"] and "after a gap" in after.problems[0].detail
    source.translate(topic("NBIRTH"), birth(metric("Temperature", "Float", 1.0, alias=1)), T, None)
    again = source.translate(topic("NDATA"), payload(metric(alias=1, value=2.0), seq=1), T, None)
    assert again.reports[0].readings == [RawReading("air_temperature", 2.0, "Cel", T)]


def test_seq_wraps_from_255_to_0():
    source = adapter()
    source.translate(topic("NBIRTH"), payload(metric("bdSeq", "Int64", 0), seq=254), T, None)
    for seq in (255, 0, 1):
        assert not source.translate(topic("NDATA"), payload(seq=seq), T, None).problems


def test_one_sequence_runs_across_the_node_s_and_its_devices_messages():
    source = device_session()  # NBIRTH 0, DBIRTH 1
    assert not source.translate(topic("NDATA"), payload(seq=2), T, None).problems
    ddata = source.translate(topic("DDATA", device="Pibrella"), payload(seq=3), T, None)
    assert not ddata.problems
    skipped = source.translate(topic("DDATA", device="Pibrella"), payload(seq=3), T, None)
    assert reasons(skipped) == ["out_of_sequence"]


def test_a_message_without_seq_is_not_checked():
    source = session()
    assert not source.translate(topic("NDATA"), payload(), T, None).problems


def test_rebirth_requests_to_one_edge_node_wait_for_the_interval():
    source = adapter(rebirth_interval="30s")
    data = bytes.fromhex(SPEC_NDATA)
    at = [T, T + 29_999, T + 30_000]
    replies = [len(source.translate(topic("NDATA"), data, ms, None).replies) for ms in at]
    assert replies == [1, 0, 1]


def test_each_edge_node_has_its_own_rebirth_interval():
    source = adapter()
    data = bytes.fromhex(SPEC_NDATA)
    first = source.translate(topic("NDATA", edge="a"), data, T, None).replies
    second = source.translate(topic("NDATA", edge="b"), data, T, None).replies
    assert [r.topic.rsplit("/", 1)[1] for r in first + second] == ["a", "b"]


def test_a_clock_set_back_does_not_silence_rebirth_requests():
    source = adapter()
    data = bytes.fromhex(SPEC_NDATA)
    source.translate(topic("NDATA"), data, T, None)
    assert source.translate(topic("NDATA"), data, T - 3_600_000, None).replies


# Deaths.


def test_an_ndeath_takes_the_node_and_its_born_devices_offline_and_ends_the_session():
    source = device_session(metric("Temperature", "Int32", 21, alias=7))
    death = source.translate(topic("NDEATH"), bytes.fromhex(SPEC_NDEATH), T, None)
    assert [(r.device, r.presence) for r in death.reports] == [
        (NODE, "offline"),
        (DEVICE, "offline"),
    ]
    after = source.translate(topic("DDATA", device="Pibrella"), payload(seq=2), T, None)
    assert reasons(after) == ["unknown_metric"]


def test_an_ndeath_with_another_bdseq_is_a_stale_will_and_the_session_goes_on():
    source = session(metric("Temperature", "Float", 1.0, alias=1))
    stale = payload(metric("bdSeq", "UInt64", 3))
    assert source.translate(topic("NDEATH"), stale, T, None) == Translation(quiet=True)
    data = payload(metric(alias=1, value=2.0), seq=1)
    assert source.translate(topic("NDATA"), data, T, None).reports[0].readings


def test_an_ndeath_from_an_edge_node_never_seen_takes_it_offline():
    [report] = adapter().translate(topic("NDEATH"), bytes.fromhex(SPEC_NDEATH), T, None).reports
    assert (report.device, report.presence) == (NODE, "offline")


def test_a_ddeath_takes_only_its_device_offline():
    source = device_session()
    death = source.translate(topic("DDEATH", device="Pibrella"), payload(seq=2), T, None)
    assert [(r.device, r.presence) for r in death.reports] == [(DEVICE, "offline")]
    assert not death.replies
    [report] = source.translate(topic("NDEATH"), bytes.fromhex(SPEC_NDEATH), T, None).reports
    assert report.device == NODE


def test_a_ddeath_out_of_session_still_counts_and_asks_for_a_rebirth():
    death = adapter().translate(topic("DDEATH", device="Pibrella"), payload(seq=9), T, None)
    assert [(r.device, r.presence) for r in death.reports] == [(DEVICE, "offline")]
    assert death.replies and not death.problems


# Values by datatype.


@pytest.mark.parametrize(
    ("type_name", "sent", "expected"),
    [
        ("Int8", 251, -5.0),  # two's complement in 8 bits
        ("Int8", 4294967291, -5.0),  # or sign-extended to 32 bits, as Java senders do
        ("Int16", 65535, -1.0),
        ("Int32", 4294967291, -5.0),
        ("Int32", 7, 7.0),
        ("Int64", 2**64 - 3, -3.0),
        ("UInt32", 4294967291, 4294967291.0),
        ("UInt64", 2**64 - 1, float(2**64 - 1)),
        ("Float", 12.1, 12.1),  # the single-precision float, shown as the decimal it was
        ("Double", 12.100000000000001, 12.100000000000001),
        ("String", "20.5", 20.5),
    ],
)
def test_a_value_is_read_as_its_datatype_says(type_name: str, sent, expected: float):
    field = "long_value" if type_name in ("Int64", "UInt64") else _field(type_name, sent)
    m = {"name": "Reading", "datatype": data_type(type_name), field: sent, "timestamp": T}
    source = adapter(fields={"Reading": "rainfall"})
    [report] = source.translate(topic("NBIRTH"), birth(m), T, None).reports
    assert [r.value for r in report.readings] == [expected]


def test_a_boolean_metric_feeds_a_boolean_sensor_type():
    source = adapter(fields={"Alarm": "smoke"})
    [report] = source.translate(
        topic("NBIRTH"), birth(metric("Alarm", "Boolean", True)), T, None
    ).reports
    assert report.readings == [RawReading("smoke", True, None, T)]


def test_a_value_in_a_field_its_datatype_does_not_use_is_a_wrong_type():
    m = {"name": "Temperature", "datatype": data_type("Float"), "string_value": "x"}
    [report] = adapter().translate(topic("NBIRTH"), birth(m), T, None).reports
    [problem] = report.problems
    assert (problem.reason, problem.sensor) == ("wrong_type", "air_temperature")
    assert "carries string_value" in problem.detail


@pytest.mark.parametrize("type_name", ["DataSet", "Template", "DateTime", "Int32Array"])
def test_a_mapped_metric_of_a_type_that_is_not_a_reading_is_a_wrong_type(type_name: str):
    m = {"name": "Temperature", "datatype": data_type(type_name), "bytes_value": b"\x00"}
    [report] = adapter().translate(topic("NBIRTH"), birth(m), T, None).reports
    assert [p.reason for p in report.problems] == ["wrong_type"]
    assert f"a {type_name} metric is not a reading" in report.problems[0].detail


def test_a_null_metric_gives_no_reading_and_no_problem():
    m = metric("Temperature", "Float", is_null=True)
    [report] = adapter().translate(topic("NBIRTH"), birth(m), T, None).reports
    assert not report.readings and not report.problems


def test_text_that_is_not_utf8_is_a_wrong_type():
    broken = payload(metric("Label", "String", "x"), seq=0).replace(b"\x7a\x01x", b"\x7a\x01\xff")
    [report] = (
        adapter(fields={"Label": "lamp_state"}).translate(topic("NBIRTH"), broken, T, None).reports
    )
    assert [p.reason for p in report.problems] == ["wrong_type"]


def test_a_birth_metric_without_a_name_is_a_bad_payload_problem_and_the_rest_are_read():
    data = birth(metric(alias=3, type_name="Float", value=1.0), metric("Temperature", "Float", 2.0))
    [report] = adapter().translate(topic("NBIRTH"), data, T, None).reports
    assert [p.reason for p in report.problems] == ["bad_payload"]
    assert report.readings == [RawReading("air_temperature", 2.0, "Cel", T)]


# Metric names to sensor types.


def test_a_name_is_matched_whole_then_by_its_last_part_ignoring_case():
    data = birth(
        metric("Sensors/TEMPERATURE", "Float", 1.0),
        metric("Tank 1/Water Level", "Float", 2.0),
        metric("Tank 2/Level", "Float", 3.0),
    )
    [report] = (
        adapter(fields={"tank 2/level": "water_level"})
        .translate(topic("NBIRTH"), data, T, None)
        .reports
    )
    assert [r.sensor for r in report.readings] == ["air_temperature", "water_level", "water_level"]


def test_an_override_by_whole_name_beats_the_table_s_last_part():
    data = birth(metric("Soil/Temperature", "Float", 1.0), metric("Temperature", "Float", 2.0))
    source = adapter(fields={"Soil/Temperature": "soil_temperature"})
    [report] = source.translate(topic("NBIRTH"), data, T, None).reports
    assert [r.sensor for r in report.readings] == ["soil_temperature", "air_temperature"]


def test_an_override_of_false_ignores_a_metric():
    data = birth(metric("Temperature", "Float", 2.0))
    [report] = (
        adapter(fields={"Temperature": False}).translate(topic("NBIRTH"), data, T, None).reports
    )
    assert not report.readings and report.skipped == ["Temperature"]


def test_unmapped_metrics_are_skipped_but_sparkplug_s_own_are_passed_over():
    data = birth(
        metric("Node Control/Rebirth", "Boolean", False),
        metric("Properties/OS", "String", "Raspbian"),
        metric("Inputs/A", "Boolean", False),
    )
    [report] = adapter().translate(topic("NBIRTH"), data, T, None).reports
    assert report.skipped == ["Inputs/A"] and not report.readings


# Topics.


def test_it_subscribes_to_the_whole_namespace_or_the_groups_given():
    assert adapter().subscriptions() == ["spBv1.0/#"]
    assert adapter(groups=["Plant A", "B"]).subscriptions() == ["spBv1.0/Plant A/#", "spBv1.0/B/#"]


@pytest.mark.parametrize(
    "quiet_topic",
    [
        "spBv1.0/STATE/host-1",
        "spBv1.0/G/NCMD/edge",
        "spBv1.0/G/DCMD/edge/device",
    ],
)
def test_host_state_and_commands_are_quiet(quiet_topic: str):
    assert adapter().translate(quiet_topic, b"\x00", T, None) == Translation(quiet=True)


@pytest.mark.parametrize(
    "bad_topic",
    [
        "spAv1.0/G/NDATA/edge",
        "spBv1.0/G",
        "spBv1.0/G/NDATA",
        "spBv1.0/G/NDATA/edge/device",
        "spBv1.0/G/DDATA/edge",
        "spBv1.0/G/NPING/edge",
        "spBv1.0//NDATA/edge",
        "spBv1.0/G/DDATA/edge/",
        "spBv1.0/G/DDATA/edge/device/more",
    ],
)
def test_a_topic_outside_the_namespace_s_layout_is_refused(bad_topic: str):
    assert reasons(adapter().translate(bad_topic, b"", T, None)) == ["bad_topic"]


def test_json_sent_where_protobuf_belongs_is_a_bad_payload():
    translation = adapter().translate(topic("NDATA"), b'{"timestamp": 1}', T, None)
    assert reasons(translation) == ["bad_payload"]
    assert "not a Sparkplug B protobuf message" in translation.problems[0].detail
    assert "it looks like JSON" in translation.problems[0].detail


# Bounded state.


def test_beyond_max_edge_nodes_the_least_recently_heard_is_forgotten():
    source = adapter(max_edge_nodes=2)
    for edge in ("a", "b"):
        source.translate(topic("NBIRTH", edge=edge), birth(), T, None)
    source.translate(topic("NDATA", edge="a"), payload(seq=1), T, None)  # heard again
    source.translate(topic("NBIRTH", edge="c"), birth(), T, None)
    assert not source.translate(topic("NDATA", edge="a"), payload(seq=2), T, None).problems
    assert reasons(source.translate(topic("NDATA", edge="b"), payload(seq=1), T, None)) == [
        "unknown_metric"
    ]


def test_beyond_max_metrics_per_node_birth_values_are_read_but_not_learnt():
    source = adapter(max_metrics_per_node=2)
    metrics = [metric(f"T{i}/Temperature", "Float", float(i), alias=i) for i in range(1, 4)]
    [report] = source.translate(topic("NBIRTH"), payload(*metrics, seq=0), T, None).reports
    assert len(report.readings) == 3
    assert [p.reason for p in report.problems] == ["too_many_readings"]
    data = payload(metric(alias=2, value=5.0), metric(alias=3, value=6.0), seq=1)
    translation = source.translate(topic("NDATA"), data, T, None)
    assert [r.value for r in translation.reports[0].readings] == [5.0]
    assert reasons(translation) == ["unknown_metric"] and not translation.replies


# Options.


@pytest.mark.parametrize(
    ("options", "words"),
    [
        ({"groups": ["a/b"]}, "group 'a/b'"),
        ({"rebirth_interval": "soon"}, "not a duration"),
        ({"max_edge_nodes": 0}, "max_edge_nodes"),
        ({"fields": {"Temperature": "air_temprature"}}, "air_temprature"),
        ({"rebirth": True}, "rebirth"),
        ({"village": "Xia Shan"}, "village"),
    ],
)
def test_a_bad_option_is_a_configuration_error_naming_it(options: dict, words: str):
    with pytest.raises(ValueError, match=r"ingest.sources\[0\] \(sparkplug\)") as caught:
        adapter(**options)
    assert words in str(caught.value)


# Robustness.


def test_no_mangled_payload_makes_it_raise():
    rng = random.Random(8428)
    source = fixture_adapter()
    samples = [payload_of(m) for m in MESSAGES if "payload_hex" in m]
    kinds = ["NBIRTH", "NDATA", "DBIRTH", "DDATA", "NDEATH", "DDEATH"]
    for _ in range(3000):
        data = bytearray(rng.choice(samples))
        for _ in range(rng.randint(1, 4)):
            at = rng.randrange(len(data) or 1)
            data[at : at + rng.randint(0, 2)] = bytes(rng.randrange(256) for _ in range(2))
        kind = rng.choice(kinds)
        where = topic(kind, device="Pibrella" if kind.startswith("D") else None)
        translation = source.translate(where, bytes(data), T, None)
        assert isinstance(translation, Translation)
        assert all(isinstance(p, Problem) for p in translation.problems)


# The shipped schema.

SCHEMAS = Path(__file__).parents[2] / "village_brain" / "ingest" / "sources" / "schemas"
_SCALARS = {"double", "float", "uint32", "uint64", "bool", "string", "bytes"}


def _proto_fields() -> set[tuple[str, str, int, str]]:
    """(message, field, number, type) of every field the .proto declares, read from its text."""
    declared, scopes = set(), []
    for raw in (SCHEMAS / "sparkplug_b.proto").read_text("utf-8").splitlines():
        line = raw.split("//")[0].strip()
        if line.startswith(("message ", "enum ", "oneof ")):
            scopes.append(tuple(line.split()[:2]))
        elif line.startswith("}"):
            scopes.pop()
        elif scopes and scopes[-1][0] != "enum" and "=" in line:
            words = line.rstrip(";").replace("=", " = ").split()
            if words[0] in ("optional", "repeated", "required"):
                words = words[1:]
            type_name, name, _, number = words[:4]
            message = ".".join(scope for kind, scope in scopes if kind == "message")
            declared.add((message, name, int(number), type_name))
    return declared


def _descriptor_fields() -> set[tuple[str, str, int, str]]:
    found = set()

    def walk(descriptor, prefix: str) -> None:
        for field in descriptor.fields:
            if field.message_type is not None:
                type_name = field.message_type.name
            else:
                type_name = _TYPE_WORDS[field.type]
            found.add((prefix + descriptor.name, field.name, field.number, type_name))
        for nested in descriptor.nested_types:
            walk(nested, prefix + descriptor.name + ".")

    walk(Payload.DESCRIPTOR, "")
    return found


_TYPE_WORDS = {getattr(FieldDescriptor, f"TYPE_{word.upper()}"): word for word in _SCALARS}


def test_the_shipped_descriptor_declares_the_fields_of_the_shipped_proto():
    proto = _proto_fields()
    assert len(proto) > 60 and {t for *_, t in proto} >= _SCALARS
    assert _descriptor_fields() == proto
