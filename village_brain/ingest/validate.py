"""Check one decoded reading against the sensor catalog and the time window.

Every check that fails says why in words a device maker can act on.
"""

from __future__ import annotations

import math

import msgspec

from village_brain.core.catalog import Catalog, SensorType
from village_brain.core.records import Problem, RawReading, Reading
from village_brain.core.timefmt import format_ms, is_time_ms
from village_brain.ingest.codecs.jsontext import describe


class TimeWindow(msgspec.Struct, frozen=True):
    max_clock_skew_ms: int
    max_backfill_ms: int


def check_reading(
    raw: RawReading,
    catalog: Catalog,
    village: str,
    device: str,
    received_ms: int,
    window: TimeWindow,
) -> Reading | Problem:
    sensor = catalog.get(raw.sensor)
    if sensor is None:
        return Problem("unknown_sensor", f"sensor type {raw.sensor[:64]!r} is not in the catalog")
    value = _number(sensor, raw.value)
    if isinstance(value, Problem):
        return value
    value = _to_canonical(sensor, value, raw.unit)
    if isinstance(value, Problem):
        return value
    ts_ms = received_ms if raw.ts_ms is None else raw.ts_ms
    if not received_ms - window.max_backfill_ms <= ts_ms <= received_ms + window.max_clock_skew_ms:
        reason, detail = _time_problem(ts_ms, received_ms, window)
        return Problem(reason, detail, sensor.id)
    return Reading(village, device, sensor.id, ts_ms, value)


# Decoded JSON holds exact built-in types, so `type(...) in` is a safe and much cheaper test than
# isinstance on this path, which runs for every reading; and it keeps bool (an int) out.
_NUMBERS = frozenset((int, float))


def _number(sensor: SensorType, value: object) -> float | Problem:
    if sensor.kind == "boolean":
        return _boolean(sensor, value)
    if type(value) not in _NUMBERS:
        return Problem("wrong_type", f"{sensor.id} expects a number, got {_show(value)}", sensor.id)
    if not math.isfinite(value):
        return Problem("not_finite", f"{sensor.id} value {value} is not a finite number", sensor.id)
    return float(value)


def _boolean(sensor: SensorType, value: object) -> float | Problem:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float) and value in (0, 1):
        return float(value)
    if isinstance(value, str):
        word = value.strip().lower()
        if word in sensor.true_words:
            return 1.0
        if word in sensor.false_words:
            return 0.0
    words = "/".join(sensor.true_words[:1] + sensor.false_words[:1])
    return Problem(
        "wrong_type",
        f"{sensor.id} expects true/false, 1/0 or {words}, got {_show(value)}",
        sensor.id,
    )


def _to_canonical(sensor: SensorType, value: float, unit: str | None) -> float | Problem:
    if unit is None:  # the common case: already in the canonical unit
        if sensor.kind == "number" and not sensor.in_range(value):
            return _out_of_range(sensor, value, value, unit)
        return value
    conversion = sensor.conversion(unit)
    if conversion is None:
        accepted = ", ".join([sensor.unit, *sensor.aliases, *sensor.units])
        return Problem(
            "unknown_unit",
            f"{sensor.id} cannot be converted from {unit!r}; send one of: {accepted}",
            sensor.id,
        )
    converted = value * conversion.factor + conversion.offset
    if not math.isfinite(converted):  # 1e308 km is no longer a number in metres
        detail = f"{sensor.id} value {value:g} {unit} is too large to convert to {sensor.unit}"
        return Problem("not_finite", detail, sensor.id)
    if sensor.kind == "number" and not sensor.in_range(converted):
        return _out_of_range(sensor, converted, value, unit)
    return converted


def _out_of_range(sensor: SensorType, converted: float, sent: float, unit: str | None) -> Problem:
    shown = f"{converted:g} {sensor.unit}"
    if converted != sent:
        shown += f" (sent as {sent:g} {unit})"
    return Problem(
        "out_of_range",
        f"{sensor.id} {shown} is outside the valid range {sensor.min:g} to {sensor.max:g}",
        sensor.id,
    )


def _time_problem(ts_ms: int, received_ms: int, window: TimeWindow) -> tuple[str, str]:
    if ts_ms > received_ms + window.max_clock_skew_ms:
        # Dividing a time of hundreds of digits overflows; the codecs refuse those, but a
        # codec of someone else's might not.
        ahead = f"{(ts_ms - received_ms) / 1000:.0f} s" if is_time_ms(ts_ms) else "far"
        return (
            "timestamp_future",
            f"timestamp {_when(ts_ms)} is {ahead} ahead of the server clock; "
            f"at most {window.max_clock_skew_ms / 1000:.0f} s is tolerated; check the clock",
        )
    return (
        "timestamp_too_old",
        f"timestamp {_when(ts_ms)} is older than the backfill limit of "
        f"{window.max_backfill_ms / 86_400_000:g} days",
    )


def _when(ts_ms: int) -> str:
    try:
        return format_ms(ts_ms)
    except (OverflowError, OSError, ValueError):
        return f"{ts_ms} ms" if ts_ms.bit_length() <= 64 else describe(ts_ms)


def _show(value: object) -> str:
    if type(value) is int:
        return describe(value)  # repr refuses integers of thousands of digits
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
