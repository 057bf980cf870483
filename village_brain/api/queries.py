"""Reading query parameters: times, steps and ranges, with errors that say what to send."""

from __future__ import annotations

from fastapi import HTTPException

from village_brain.core.timefmt import parse_duration_ms, parse_time_ms

MAX_BUCKETS = 10_000
TARGET_BUCKETS = 300
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


def bad_request(message: str) -> HTTPException:
    return HTTPException(status_code=400, detail=message)


def time_param(name: str, text: str | None, default: int) -> int:
    if text is None or text == "":
        return default
    try:
        return parse_time_ms(text)
    except ValueError as exc:
        raise bad_request(f"{name}: {exc}; epoch milliseconds also work") from None


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
    buckets = (end_ms - start_ms) / step_ms
    if buckets > MAX_BUCKETS:
        raise bad_request(
            f"step {step} gives {buckets:,.0f} buckets over this range; at most {MAX_BUCKETS:,} "
            "are allowed: use a larger step or a shorter range"
        )
    return step_ms
