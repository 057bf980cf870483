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


def _format_through_datetime(ts_ms: int) -> str:
    """How format_ms wrote times before its cached fast path: the reference it must match."""
    from datetime import UTC, datetime, timedelta

    epoch = datetime.fromtimestamp(0, UTC)
    shown = (epoch + timedelta(milliseconds=ts_ms)).isoformat(timespec="milliseconds")
    return shown.replace("+00:00", "Z")


_FIRST_MS = -62_135_596_800_000  # 0001-01-01T00:00:00.000Z, the first time datetime shows


@pytest.mark.parametrize(
    "ts_ms",
    [
        0,
        1,
        -1,
        999,
        -1000,
        59_999,
        60_000,
        86_399_999,
        951_782_400_000,  # 2000-02-29, a leap day
        1_790_000_000_123,
        _FIRST_MS,
        MAX_TIME_MS,
    ],
)
def test_a_time_is_written_as_it_was_before_the_fast_path(ts_ms):
    assert format_ms(ts_ms) == _format_through_datetime(ts_ms)


def test_many_times_across_every_year_are_written_as_before():
    import random

    picks = random.Random(13)
    # Twice each: once filling the minute cache, once answered from it.
    times = [picks.randint(_FIRST_MS, MAX_TIME_MS) for _ in range(20_000)]
    times += [picks.randint(1_700_000_000_000, 1_700_000_600_000) for _ in range(20_000)]
    for ts_ms in times + times:
        assert format_ms(ts_ms) == _format_through_datetime(ts_ms), ts_ms


@pytest.mark.parametrize("ts_ms", [_FIRST_MS - 1, MAX_TIME_MS + 1])
def test_a_time_datetime_cannot_show_still_raises(ts_ms):
    with pytest.raises(OverflowError):
        format_ms(ts_ms)


@pytest.mark.parametrize("ts_ms", [1.5, 1_700_000_000_000.25, True])
def test_a_time_that_is_not_an_integer_is_written_as_before(ts_ms):
    assert format_ms(ts_ms) == _format_through_datetime(ts_ms)
