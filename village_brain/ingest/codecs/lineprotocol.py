"""InfluxDB line protocol: a body of lines read into points, for every way such lines arrive
(Telegraf's MQTT output now, an HTTP write endpoint later).

Each line is parsed by `line-protocol-parser` (MIT, a C extension with wheels for Linux on
x86-64 and ARM64), which implements the whole grammar — escapes in names and tags, quoted
strings, `i` and `u` integers, every boolean spelling — and refuses NaN, infinities,
integers out of range, timestamps that are not integers and repeated tags. That is all a
careful parser of our own would have to be, already tested and compiled. Its two limits are
met here: it reads one line per call, so the body is split into lines (a newline inside a
string field, which line protocol does not allow, splits its line, and both halves are
refused); and it lists tags and fields last first, so they are put back in the order
written. Each bad line is refused alone, with its number.
"""

from __future__ import annotations

from typing import Literal

import line_protocol_parser
import msgspec

from village_brain.core.records import Problem

FieldValue = float | int | bool | str
Precision = Literal["ns", "us", "ms", "s"]
_SHOWN_CHARS = 64


class Point(msgspec.Struct, frozen=True):
    """One line: a measurement, its tags, its fields in the order written, and its time."""

    line: int  # 1-based, for messages about it
    measurement: str
    tags: dict[str, str]
    fields: dict[str, FieldValue]  # `i` and `u` integers as int, plain numbers as float
    time: int | None  # as written, in the sender's precision; None when the line has none


def parse_lines(body: bytes) -> tuple[list[Point], list[Problem]]:
    """The points of a body of lines, and a bad_payload problem for each line that is not one.

    Blank lines and `#` comments are skipped, and `\\r\\n` line ends are accepted.
    """
    points: list[Point] = []
    problems: list[Problem] = []
    for number, raw in enumerate(body.split(b"\n"), start=1):
        raw = raw.rstrip(b"\r")
        if not raw.strip() or raw.lstrip().startswith(b"#"):
            continue
        point = _point(number, raw)
        if isinstance(point, Problem):
            problems.append(point)
        else:
            points.append(point)
    return points, problems


def time_ms(time: int, precision: Precision) -> int:
    """A line's timestamp in epoch milliseconds (rounded down)."""
    if precision == "ns":
        return time // 1_000_000
    if precision == "us":
        return time // 1_000
    if precision == "s":
        return time * 1_000
    return time


def _point(number: int, raw: bytes) -> Point | Problem:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Problem("bad_payload", f"line {number} is not UTF-8 text ({exc.reason})")
    try:
        parsed = line_protocol_parser.parse_line(text)
    except (line_protocol_parser.LineFormatError, ValueError) as exc:
        shown = text[:_SHOWN_CHARS] + ("…" if len(text) > _SHOWN_CHARS else "")
        detail = f"line {number} is not InfluxDB line protocol: {exc} ({shown!r})"
        return Problem("bad_payload", detail)
    return Point(
        number,
        parsed["measurement"],
        # The parser lists tags and fields last first; give them back in the order written.
        dict(reversed(parsed["tags"].items())),
        dict(reversed(parsed["fields"].items())),
        parsed["time"],
    )
