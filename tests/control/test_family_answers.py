"""How each family's answers to commands are read, and where its commands may be written:
plain values, no broker (the end-to-end cases are in test_family_downlinks_answers.py)."""

from __future__ import annotations

import json

import pytest
from control_kit import OPERATOR

from village_brain.control.downlinks import Downlinks
from village_brain.control.records import Command, CommandResult
from village_brain.core.catalog import default_catalog
from village_brain.ingest.sources.router import build_sources

CATALOG = default_catalog()
CHIRPSTACK = {
    "adapter": "chirpstack",
    "village": "xiashan",
    "application_id": "app-1",
    "downlinks": {"*": {"f_port": 10, "payloads": {"lamp_state": {"on": "0101"}}}},
}
SHELLY = {"adapter": "shelly", "village": "xiashan"}
ALINK = {"adapter": "alink", "village": "xiashan", "command_product_key": "a1Lamp7xQ2"}
ESPHOME = {"adapter": "esphome", "village": "xiashan"}


def source(options: dict):
    [built] = build_sources([options], CATALOG)
    return built


def command(target: str = "lamp_state", value: str | float | None = "on", **kw) -> Command:
    fields = dict(id="c-1", village="xiashan", device="dev-1", target=target, value=value)
    fields |= dict(args={}, state="sent", created_ms=0, expires_ms=60_000, origin=OPERATOR)
    return Command(**(fields | kw))  # type: ignore[arg-type]


def answers(options: dict, topic: str, body: dict) -> list[CommandResult]:
    translation = source(options).adapter.translate(topic, json.dumps(body).encode(), 5, None)
    assert not translation.problems, translation.problems
    return translation.results


def test_a_shelly_rpc_error_is_a_failed_answer_with_its_message():
    [result] = answers(
        SHELLY,
        "village-brain/xiashan/shelly-1/rpc",
        {"id": "c-1", "src": "shellyplus1-x", "error": {"code": -103, "message": "Bad on"}},
    )
    assert (result.device, result.id, result.status) == ("shelly-1", "c-1", "failed")
    assert "Bad on" in result.reason


def test_a_shelly_rpc_result_is_a_done_answer():
    [result] = answers(
        SHELLY, "village-brain/xiashan/shelly-1/rpc", {"id": "c-1", "result": {"was_on": False}}
    )
    assert result.status == "done"


@pytest.mark.parametrize(
    ("event", "body", "status"),
    [
        ("txack", {"queueItemId": "q-1", "fCntDown": 3}, "accepted"),
        ("ack", {"queueItemId": "q-1", "acknowledged": True}, "done"),
        ("ack", {"queueItemId": "q-1", "acknowledged": False}, "failed"),
    ],
)
def test_chirpstack_txack_and_ack_events_are_answers_naming_the_queue_item(event, body, status):
    info = {"deviceInfo": {"devEui": "a84041000181af4f", "applicationId": "app-1"}}
    topic = f"application/app-1/device/a84041000181af4f/event/{event}"
    [result] = answers(CHIRPSTACK, topic, {**info, **body})
    assert (result.device, result.id, result.status) == ("a84041000181af4f", "q-1", status)


def test_a_chirpstack_ack_without_a_queue_item_is_quiet():
    info = {"deviceInfo": {"devEui": "a84041000181af4f"}, "acknowledged": True}
    topic = "application/app-1/device/a84041000181af4f/event/ack"
    translation = source(CHIRPSTACK).adapter.translate(topic, json.dumps(info).encode(), 5, None)
    assert translation.quiet and not translation.results and not translation.problems


def test_an_alink_reply_with_a_code_other_than_200_is_failed_with_its_message():
    topic = "/sys/a1Lamp7xQ2/lamp-1/thing/service/property/set_reply"
    [result] = answers(ALINK, topic, {"id": "123", "code": 6813, "message": "device is busy"})
    assert (result.device, result.id, result.status) == ("lamp-1", "123", "failed")
    assert result.reason == "device is busy (code 6813)"


def test_a_family_answer_is_matched_to_the_open_command_it_references():
    downlinks = Downlinks.of(build_sources([CHIRPSTACK], CATALOG), CATALOG)
    [out] = downlinks.downlinks[0].publications(command(), "a84041000181af4f")
    item = json.loads(out.payload)["id"]
    answer = CommandResult("xiashan", "dev-1", item, "done", 5)
    other = command(id="c-2")
    assert downlinks.resolve(answer, [other, command()]).id == "c-1"
    assert downlinks.resolve(answer, [other]).id == item  # no open command of its: unchanged


def test_a_repeat_of_a_command_references_the_same_queue_item_and_alink_id():
    sources = build_sources([CHIRPSTACK, {**ALINK, "village": "other"}], CATALOG)
    chirpstack, alink = Downlinks.of(sources, CATALOG).downlinks
    for downlink in (chirpstack, alink):
        first = downlink.publications(command(), "lamp-1")[0].payload
        assert downlink.publications(command(), "lamp-1")[0].payload == first


def test_a_chirpstack_value_without_bytes_in_the_profile_table_is_not_sent():
    [downlink] = Downlinks.of(build_sources([CHIRPSTACK], CATALOG), CATALOG).downlinks
    with pytest.raises(LookupError, match="no bytes for lamp_state = off"):
        downlink.publications(command(value="off"), "a84041000181af4f")


def test_each_family_refuses_a_target_it_cannot_carry():
    sources = build_sources(
        [ESPHOME, {**SHELLY, "village": "b"}, {**ALINK, "village": "c"}], CATALOG
    )
    esphome, shelly, alink = Downlinks.of(sources, CATALOG).downlinks
    assert esphome.check("reboot") and shelly.check("identify")
    assert alink.check("valve_position") and alink.check("identify")  # no service declared
    assert esphome.check("valve_position") is None and shelly.check("valve_position") is None


def test_the_acl_lets_ingest_write_the_new_familys_command_topics():
    options = [
        {**ESPHOME, "prefixes": ["xiashan/+"]},
        {**SHELLY, "village": "b"},
        {**CHIRPSTACK, "village": "c"},
        {**ALINK, "village": "d", "services": {"identify": "Identify"}},
    ]
    assert Downlinks.of(build_sources(options, CATALOG), CATALOG).write_filters() == [
        "xiashan/+/switch/+/command",
        "xiashan/+/light/+/command",
        "xiashan/+/cover/+/position/command",
        "+/rpc",
        "application/+/device/+/command/down",
        "/sys/+/+/thing/service/property/set",
        "/sys/+/+/thing/service/Identify",
    ]


def test_an_esphome_command_goes_under_the_nodes_whole_prefix():
    sources = build_sources([{**ESPHOME, "prefixes": ["xiashan/esphome/+"]}], CATALOG)
    [downlink] = Downlinks.of(sources, CATALOG).downlinks
    [out] = downlink.publications(command(), "pump-1")
    assert (out.topic, out.payload) == ("xiashan/esphome/pump-1/switch/lamp_state/command", b"ON")


@pytest.mark.parametrize(
    ("options", "words"),
    [
        ({**ESPHOME, "controls": {"lamp_state": "bulb/x"}}, "<switch|light|cover>/<object id>"),
        ({**SHELLY, "controls": {"lamp_state": "relay"}}, "switch:<id> or cover:<id>"),
        (
            {**CHIRPSTACK, "downlinks": {"*": {"f_port": 10, "payloads": {"x": {"on": "zz"}}}}},
            "not hex bytes",
        ),
    ],
)
def test_command_options_that_cannot_work_are_refused_saying_what_to_write(options, words):
    with pytest.raises(ValueError, match=words.replace("|", r"\|")):
        build_sources([options], CATALOG)
