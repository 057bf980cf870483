"""Reading JSON payloads, shared by the JSON-based codecs."""

from __future__ import annotations

import json
import math

import msgspec

from village_brain.core.records import PayloadError

_decoder = msgspec.json.Decoder()
_JSON_SPACE = frozenset(b" \t\r\n")
_SHOWN_CHARS = 64
_NUMBER_TYPES = frozenset((int, float))


def load_json(payload: bytes) -> object:
    """Decode JSON into plain Python objects.

    Devices send `NaN` and `Infinity` although JSON forbids them. The standard library reads
    them, but slowly, so it is only asked once the fast decoder has refused the payload; the
    readings then reach the validator, which refuses only the non-finite ones.
    """
    try:
        return _decoder.decode(payload)
    except msgspec.DecodeError as exc:
        fast_error = exc
    try:
        return json.loads(payload)
    except (ValueError, RecursionError):
        raise PayloadError("bad_json", f"payload is not valid JSON: {fast_error}") from None


def first_byte(payload: bytes) -> int | None:
    """The first byte that is not JSON whitespace, or None for a blank payload."""
    for byte in payload:
        if byte not in _JSON_SPACE:
            return byte
    return None


def is_number(value: object) -> bool:
    """A JSON number, and not a boolean (which Python counts as an int)."""
    # Decoded JSON holds only exact built-in types, so a type lookup is enough, and it is
    # several times cheaper than isinstance on the ingest's hot path.
    return type(value) in _NUMBER_TYPES


def as_float(number: int | float) -> float:
    """A JSON number as a float; an integer beyond any double becomes an infinity."""
    try:
        return float(number)
    except OverflowError:  # the validator then refuses it as not finite, not the whole message
        return math.inf if number > 0 else -math.inf


def describe(value: object) -> str:
    """A JSON value as a person would name it in an error message."""
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return repr(value[:_SHOWN_CHARS])
    if isinstance(value, bytes):  # binary formats (CBOR) carry values JSON has no word for
        return "a byte string"
    try:
        return json.dumps(value)
    except TypeError:
        return f"a {type(value).__name__}"


def shown(name: str) -> str:
    """A name from the payload, quoted and cut short so a hostile one cannot flood a log."""
    return repr(name[:_SHOWN_CHARS])
