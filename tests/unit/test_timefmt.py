"""Durations and times as written in settings, rules and API parameters."""

import pytest

from village_brain.core.timefmt import MAX_TIME_MS, format_ms, parse_duration_ms, parse_time_ms


@pytest.mark.parametrize(
    ("text", "ms"),
    [("500ms", 500), ("1.5s", 1500), ("5m", 300_000), ("365000d", 365_000 * 86_400_000)],
)
def test_a_duration_is_a_number_and_a_unit(text, ms):
    assert parse_duration_ms(text) == ms


@pytest.mark.parametrize("text", ["99999999999999999999w", "9" * 400 + "s", "365001d"])
def test_a_duration_too_long_to_mean_anything_is_refused_saying_so(text):
    with pytest.raises(ValueError, match="is too long a duration: at most 365000d"):
        parse_duration_ms(text)


@pytest.mark.parametrize("text", ["²", "١٢٣", "--5"])
def test_only_ascii_digits_are_epoch_milliseconds(text):
    with pytest.raises(ValueError, match="is not an RFC 3339 time"):
        parse_time_ms(text)


def test_the_last_time_shown_is_the_end_of_year_9999():
    assert format_ms(MAX_TIME_MS) == "9999-12-31T23:59:59.999Z"
