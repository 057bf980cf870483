"""Reading JSON payloads, shared by the JSON-based codecs and the event decoder."""

from __future__ import annotations

import json
import math
import re

import msgspec

from village_brain.core.records import PayloadError

# Deeper than any payload of the protocol needs (a native batch entry is 5 levels), and far
# below the depth at which a recursive decoder or encoder exhausts the stack (about 1,000).
MAX_DEPTH = 32

_decoder = msgspec.json.Decoder()
_JSON_SPACE = frozenset(b" \t\r\n")
_SHOWN_CHARS = 64
_NUMBER_TYPES = frozenset((int, float))
_LONGEST_SHOWN_INT = 10**20

# For the depth check: brackets and quotes only, and brackets as one kind of parenthesis.
_NOT_MARKS = bytes(b for b in range(256) if b not in b'[]{}"')
_PARENS = bytes.maketrans(b"[{]}", b"(())")
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')


def load_json(payload: bytes) -> object:
    """Decode JSON into plain Python objects, refusing nesting deeper than MAX_DEPTH.

    Devices send `NaN` and `Infinity` although JSON forbids them. The standard library reads
    them, but slowly, so it is only asked once the fast decoder has refused the payload; the
    readings then reach the validator, which refuses only the non-finite ones.
    """
    check_depth(payload)
    try:
        return _decoder.decode(payload)
    except msgspec.DecodeError as exc:
        fast_error = exc
    try:
        return json.loads(payload)
    except (ValueError, RecursionError):
        raise PayloadError("bad_json", f"payload is not valid JSON: {fast_error}") from None


def check_depth(payload: bytes) -> None:
    """Raise PayloadError when arrays and objects nest deeper than MAX_DEPTH."""
    if nested_deeper_than(payload, MAX_DEPTH):
        detail = (
            f"the JSON nests arrays and objects more than {MAX_DEPTH} levels deep; "
            f"the protocol allows {MAX_DEPTH}"
        )
        raise PayloadError("too_deep", detail)


def nested_deeper_than(payload: bytes, limit: int) -> bool:
    """Whether arrays and objects nest deeper than `limit`, brackets in strings not counted.

    Cheap enough for every payload: it only runs C-level byte operations, a fixed number of
    times. Unbalanced brackets count as open, so broken JSON is never let through too deep.
    """
    marks = payload.translate(None, _NOT_MARKS)
    if len(marks) <= limit:  # fewer brackets than levels allowed: the usual single reading
        return False
    # A string without brackets or escapes leaves two adjacent quotes. Any other quote left
    # means a string holds brackets or escapes, and only a real scan can tell them apart.
    marks = marks.replace(b'""', b"")
    if b'"' in marks or b"\\" in payload:
        marks = _STRING.sub(b"", payload).translate(None, _NOT_MARKS)
    parens = marks.translate(_PARENS, b'"')
    # Each pass removes the innermost pairs, one level of every branch, so the passes needed
    # to empty the string are the nesting depth. A run of openers left after `passes` passes
    # proves a depth of at least passes + run: deep nesting is found in one search.
    for passes in range(limit + 1):
        if not parens:
            return False
        if b"(" * (limit - passes + 1) in parens:
            return True
        inner = parens.replace(b"()", b"")
        if len(inner) == len(parens):  # unbalanced: closers, then fewer openers than the limit
            return False
        parens = inner
    return True  # not reached: after `limit` passes any opener left is found above


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
    if type(value) is int and not -_LONGEST_SHOWN_INT < value < _LONGEST_SHOWN_INT:
        # Python refuses to print integers of thousands of digits, and nobody wants to read one.
        digits = math.floor(value.bit_length() * math.log10(2)) + 1
        return f"an integer of about {digits:,} digits"
    try:
        return json.dumps(value)
    except TypeError:
        return f"a {type(value).__name__}"


def shown(name: str) -> str:
    """A name from the payload, quoted and cut short so a hostile one cannot flood a log."""
    return repr(name[:_SHOWN_CHARS])
