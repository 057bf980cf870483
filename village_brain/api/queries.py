"""Reading query parameters: ids, times, steps and ranges, with errors that say what to send.

Every parameter is bounded here, at the edge, so that nothing a caller sends can reach the
stores as a number SQLite cannot hold or a time `datetime` cannot show.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import HTTPException, Path, Query

from village_brain.core.ids import ID_PATTERN
from village_brain.core.timefmt import MAX_TIME_MS, parse_duration_ms, parse_time_ms

# A month at a one-minute step is 44,640 buckets and must be allowed; the bound keeps the
# answer near 6 MB of JSON (about 130 bytes a bucket), which SQLite computes in well under
# a second from 40 million stored points (docs/benchmarks.md, "store").
MAX_BUCKETS = 50_000
TARGET_BUCKETS = 300
MAX_STEP_MS = 366 * 86_400_000
_NICE_STEPS_MS = [
    1_000,
    5_000,
    10_000,
    30_000,
    60_000,
    300_000,
    600_000,
    1_800_000,
    3_600_000,
    10_800_000,
    21_600_000,
    43_200_000,
    86_400_000,
    604_800_000,
]
_ID_RULE = "1–64 characters of a-z, 0-9, _ and -"

DevicePath = Annotated[str, Path(pattern=ID_PATTERN, description=f"A device id: {_ID_RULE}.")]
SensorPath = Annotated[str, Path(pattern=ID_PATTERN, description=f"A sensor type id: {_ID_RULE}.")]
VillageFilter = Annotated[
    str | None, Query(pattern=ID_PATTERN, description=f"Only this village: {_ID_RULE}.")
]
DeviceFilter = Annotated[
    str | None, Query(pattern=ID_PATTERN, description=f"Only this device: {_ID_RULE}.")
]
KindFilter = Annotated[str | None, Query(max_length=64, description="Only this kind of device.")]
ReasonFilter = Annotated[
    str | None, Query(pattern=ID_PATTERN, description="Only this reason, such as bad_json.")
]
Limit = Annotated[int, Query(ge=1, le=1000, description="At most this many, 1 to 1000.")]
_TIME_HELP = "RFC 3339 or epoch ms, from 1970-01-01 to 9999-12-31"
StartParam = Annotated[
    str | None, Query(max_length=64, description=f"{_TIME_HELP}; default end − 24 h")
]
EndParam = Annotated[str | None, Query(max_length=64, description=f"{_TIME_HELP}; default now")]
StepParam = Annotated[
    str | None,
    Query(max_length=32, description="Bucket width such as 1m, 5m, 1h; at most 366d"),
]


def bad_request(message: str) -> HTTPException:
    return HTTPException(status_code=400, detail=message)


def time_param(name: str, text: str | None, default: int) -> int:
    if text is None or text == "":
        return default
    try:
        ms = parse_time_ms(text)
    except ValueError as exc:
        raise bad_request(f"{name}: {exc}; epoch milliseconds also work") from None
    if not 0 <= ms <= MAX_TIME_MS:
        raise bad_request(
            f"{name}: {text.strip()[:40]} is out of range: times run from "
            f"1970-01-01T00:00:00Z (0) to 9999-12-31T23:59:59.999Z ({MAX_TIME_MS})"
        )
    return ms


def time_range(start: str | None, end: str | None, now_ms: int) -> tuple[int, int]:
    end_ms = time_param("end", end, now_ms)
    start_ms = time_param("start", start, end_ms - 86_400_000)
    if start_ms >= end_ms:
        raise bad_request("start must be before end")
    return start_ms, end_ms


def step_param(step: str | None, start_ms: int, end_ms: int) -> int:
    if not step:
        wanted = (end_ms - start_ms) / TARGET_BUCKETS
        return next((s for s in _NICE_STEPS_MS if s >= wanted), _NICE_STEPS_MS[-1])
    try:
        step_ms = parse_duration_ms(step)
    except ValueError as exc:
        raise bad_request(f"step: {exc}") from None
    if step_ms > MAX_STEP_MS:
        raise bad_request(f"step: {step.strip()} is wider than the widest step, 366d")
    buckets = (end_ms - start_ms) / step_ms
    if buckets > MAX_BUCKETS:
        raise bad_request(
            f"step {step} gives {buckets:,.0f} buckets over this range; at most {MAX_BUCKETS:,} "
            "are allowed: use a larger step or a shorter range"
        )
    return step_ms
