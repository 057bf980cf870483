"""Parsing of the time formats the protocol and the API accept."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from functools import lru_cache

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)\s*$")
_EPOCH_MS = re.compile(r"^-?[0-9]+$")
_UNIT_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}
# Far beyond any setting or rule, and small enough that a time plus a duration stays well
# inside a 64-bit integer and the dates datetime can show.
MAX_DURATION_MS = 365_000 * 86_400_000
# 9999-12-31T23:59:59.999Z, the last time RFC 3339 can write and `format_ms` can show. A time
# further from 1970 than this, either way, is no time at all; refusing it early keeps its
# arithmetic bounded.
MAX_TIME_MS = 253_402_300_799_999
_EPOCH = datetime.fromtimestamp(0, UTC)


def is_time_ms(ms: float) -> bool:
    """Whether epoch milliseconds are close enough to 1970 to be a time (see MAX_TIME_MS)."""
    return -MAX_TIME_MS <= ms <= MAX_TIME_MS


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def parse_duration_ms(text: str) -> int:
    """Parse a duration such as `500ms`, `30s`, `5m`, `2h`, `7d` or `1w` into milliseconds."""
    match = _DURATION.match(text)
    if not match:
        raise ValueError(
            f"{text!r} is not a duration: write a number and a unit, such as 30s, 5m, 2h or 7d"
        )
    amount, unit = match.groups()
    exact = float(amount) * _UNIT_MS[unit]
    # Also catches infinity: float() of a few hundred digits overflows to it.
    if not exact <= MAX_DURATION_MS:
        raise ValueError(f"{text[:40]!r} is too long a duration: at most 365000d")
    ms = round(exact)
    if ms <= 0:
        raise ValueError(f"{text!r} is not a duration: it must be more than zero")
    return ms


# Rules and sensor types are read at every reading and every alert tick: each of their few
# duration texts is parsed once.
duration_ms = lru_cache(maxsize=1024)(parse_duration_ms)


def parse_rfc3339_ms(text: str) -> int:
    """Parse an RFC 3339 date-time (with `Z` or an offset) into epoch milliseconds."""
    try:
        parsed = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        raise ValueError(f"{text!r} is not an RFC 3339 time such as 2026-11-29T08:00:00Z") from None
    if parsed.tzinfo is None:
        raise ValueError(f"{text!r} has no time zone: end it with Z or an offset such as +08:00")
    return round(parsed.timestamp() * 1000)


def parse_time_ms(text: str) -> int:
    """Parse epoch milliseconds (all digits) or an RFC 3339 date-time."""
    stripped = text.strip()
    if _EPOCH_MS.match(stripped):
        if len(stripped.lstrip("-")) > 20:  # longer than any 64-bit integer
            raise ValueError(f"{stripped[:24]!r}... is too long to be epoch milliseconds")
        return int(stripped)
    return parse_rfc3339_ms(stripped)


def format_ms(ts_ms: int) -> str:
    """Epoch milliseconds as RFC 3339 in UTC, with milliseconds."""
    if type(ts_ms) is not int:  # a float or a bool: the general path rounds it as it did
        return _format_ms_datetime(ts_ms)
    # A fleet's answer formats tens of thousands of times within a few hours: the date and
    # the minute come from a small cache, the seconds from integer arithmetic, which is
    # about three times faster than a datetime each. A minute's first use goes through
    # datetime, so a time it cannot show raises as it always did.
    minute, in_minute = divmod(ts_ms, 60_000)
    seconds, millis = divmod(in_minute, 1000)
    return f"{_minute_prefix(minute)}{seconds:02d}.{millis:03d}Z"


@lru_cache(maxsize=4096)
def _minute_prefix(minute: int) -> str:
    """`YYYY-MM-DDTHH:MM:` of a minute since the epoch."""
    return (_EPOCH + timedelta(minutes=minute)).isoformat(timespec="seconds")[:17]


def _format_ms_datetime(ts_ms: float) -> str:
    # In whole milliseconds: through a float of seconds, late dates lose their last digit.
    return (
        (_EPOCH + timedelta(milliseconds=ts_ms))
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z")
    )
