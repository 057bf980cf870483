"""The native telemetry format: a JSON object of `values` and an optional `batch` (PROTOCOL §3)."""

from __future__ import annotations

from village_brain.core.records import Decoded, PayloadError, Problem, RawReading, Value
from village_brain.core.timefmt import is_time_ms, parse_rfc3339_ms
from village_brain.ingest.codecs.jsontext import as_float, describe, first_byte, load_json, shown

# A time a reading may inherit: known, absent (time of receipt), or unreadable, in which case
# only the readings relying on it are refused.
Inherited = int | None | Problem

_BARE = frozenset((float, int, bool, str))


class NativeCodec:
    name = "native"
    # Plain application/json is deliberately not claimed: SenML arrays are JSON too, so
    # payloads of that type are told apart by sniffing.
    content_types = ("application/vnd.village-brain+json",)

    def sniffs(self, payload: bytes) -> bool:
        return first_byte(payload) == ord("{")

    def decode(self, payload: bytes, received_ms: int) -> Decoded:
        message = _message(load_json(payload))
        decoded = Decoded()
        message_ts = _time_or(message.get("ts"), None, "the message")
        values = message.get("values")
        if values:
            _read_values(values, message_ts, decoded)
        for index, entry in enumerate(message.get("batch") or ()):
            _read_entry(entry, index, message_ts, decoded)
        return decoded


def _message(message: object) -> dict:
    if not isinstance(message, dict):
        detail = f"a native message must be a JSON object, not {describe(message)}"
        raise PayloadError("bad_payload", detail)
    values, batch = message.get("values"), message.get("batch")
    if values is None and batch is None:
        raise PayloadError("bad_payload", "the message has neither 'values' nor 'batch'")
    if values is not None and not isinstance(values, dict):
        detail = f"'values' must be an object of sensor → value, not {describe(values)}"
        raise PayloadError("bad_payload", detail)
    if batch is not None and not isinstance(batch, list):
        raise PayloadError("bad_payload", f"'batch' must be a list, not {describe(batch)}")
    return message


def _read_entry(entry: object, index: int, message_ts: Inherited, decoded: Decoded) -> None:
    if not isinstance(entry, dict) or not isinstance(entry.get("values"), dict):
        detail = f"batch[{index}] must be an object with a 'values' object; it was skipped"
        decoded.problems.append(Problem("bad_payload", detail))
        return
    entry_ts = _time_or(entry.get("ts"), message_ts, f"batch[{index}]")
    _read_values(entry["values"], entry_ts, decoded)


def _read_values(values: dict, inherited: Inherited, decoded: Decoded) -> None:
    readings, problems = decoded.readings, decoded.problems
    time_ok = type(inherited) is not Problem  # not isinstance: see is_number
    for sensor, raw in values.items():
        kind = type(raw)
        # Bare values are the bulk of all traffic: reading them inline keeps the ingest close
        # to the speed of JSON decoding alone.
        if time_ok and kind in _BARE:
            value = as_float(raw) if kind is int else raw
            readings.append(RawReading(sensor, value, None, inherited))  # type: ignore[arg-type]
            continue
        result = _reading(sensor, raw, inherited)
        if type(result) is Problem:
            problems.append(result)
        else:
            readings.append(result)


def _reading(sensor: str, raw: object, ts: Inherited) -> RawReading | Problem:
    unit = None
    if isinstance(raw, dict):
        if "v" not in raw:
            return Problem("wrong_type", f"{shown(sensor)} is an object without 'v'", sensor)
        unit = raw.get("u")
        if unit is not None and not isinstance(unit, str):
            detail = f"'u' of {shown(sensor)} must be text, not {describe(unit)}"
            return Problem("wrong_type", detail, sensor)
        ts = _time_or(raw.get("ts"), ts, shown(sensor))
        raw = raw["v"]
    value = _scalar(raw)
    if value is None:
        detail = f"{shown(sensor)} must be a number, a boolean or text, not {describe(raw)}"
        return Problem("wrong_type", detail, sensor)
    if type(ts) is Problem:
        return Problem(ts.reason, ts.detail, sensor)
    return RawReading(sensor, value, unit, ts)


def _scalar(raw: object) -> Value | None:
    kind = type(raw)
    if kind is float or kind is str or kind is bool:
        return raw  # type: ignore[return-value]
    if kind is int:
        return as_float(raw)  # type: ignore[arg-type]
    return None


def _time_or(raw: object, fallback: Inherited, owner: str) -> Inherited:
    """The time `raw` gives, or the inherited one when there is none."""
    if raw is None:
        return fallback
    if type(raw) is int:  # a boolean is not a time
        ms = raw
    elif isinstance(raw, str):
        try:
            ms = parse_rfc3339_ms(raw)
        except ValueError as exc:
            return Problem("bad_timestamp", f"'ts' of {owner}: {exc}")
    else:
        detail = (
            f"'ts' of {owner} is {describe(raw)}: use epoch milliseconds (an integer) "
            "or an RFC 3339 time with a zone"
        )
        return Problem("bad_timestamp", detail)
    if is_time_ms(ms):
        return ms
    # 9999-12-31T23:59:59-14:00 is readable, and still later than the year 9999.
    return Problem("bad_timestamp", f"'ts' of {owner} is {describe(raw)}: too far from 1970")
