"""Stored event data as the API shows it: an object, or its text when it cannot be one."""

import json

import pytest

from village_brain.api.event_data import MAX_DEPTH, MAX_TEXT_CHARS, shown_data


def nested(depth: int) -> str:
    """An object `depth` levels deep, counting itself."""
    return '{"a": ' + "[" * (depth - 1) + "]" * (depth - 1) + "}"


def test_an_object_is_shown_as_it_is():
    assert shown_data('{"open": true, "n": [1, 2.5]}') == ({"open": True, "n": [1, 2.5]}, None)


def test_an_object_as_deep_as_allowed_is_shown_as_an_object():
    data, text = shown_data(nested(MAX_DEPTH))
    assert text is None and data == json.loads(nested(MAX_DEPTH))


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 300, 100_000])
def test_an_object_nested_deeper_is_shown_as_text(depth):
    assert shown_data(nested(depth))[0] == {}
    assert shown_data(nested(depth))[1].startswith('{"a": [[[')


@pytest.mark.parametrize(
    "stored", ['{"v": NaN}', '{"v": -Infinity}', '{"v": 1e400}', "[1, 2]", "null", "{oops"]
)
def test_what_json_cannot_answer_with_or_is_no_object_is_shown_as_text(stored):
    assert shown_data(stored) == ({}, stored)


def test_the_text_is_cut_saying_how_much_was_left_out():
    stored = '{"v": "' + "x" * 5000 + "}"
    _, text = shown_data(stored)
    assert text == stored[:MAX_TEXT_CHARS] + f"… ({len(stored) - MAX_TEXT_CHARS:,} more characters)"
