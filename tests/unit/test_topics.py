"""The topic layout village/{village}/{device}/{channel}."""

import pytest

from village_brain.core.records import Problem
from village_brain.ingest.topics import Address, parse_topic


def test_a_telemetry_topic_names_village_device_and_channel():
    assert parse_topic("village/xiashan/gauge-1/telemetry") == Address(
        "xiashan", "gauge-1", "telemetry"
    )


@pytest.mark.parametrize(
    "topic",
    [
        "village/xiashan/gauge-1",
        "town/x/y/telemetry",
        "village/x/y/telemetry/extra",
        "village/x/y/commands",
    ],
)
def test_topics_outside_the_layout_are_rejected(topic):
    result = parse_topic(topic)
    assert isinstance(result, Problem) and result.reason == "bad_topic"


@pytest.mark.parametrize(
    ("topic", "words"),
    [
        ("village/XiaShan/gauge-1/telemetry", "village id"),
        ("village/xiashan/gauge 1/telemetry", "device id"),
        ("village/xiashan//telemetry", "device id is empty"),
        ("village/xiashan/" + "d" * 65 + "/telemetry", "65 characters"),
        ("village/下山/gauge-1/telemetry", "outside [a-z0-9_-]"),
    ],
)
def test_invalid_ids_are_rejected_saying_what_is_wrong(topic, words):
    result = parse_topic(topic)
    assert result.reason == "bad_topic"
    assert words in result.detail
