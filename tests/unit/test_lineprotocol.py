"""InfluxDB line protocol bodies: lines to points, each bad line refused alone."""

from __future__ import annotations

import random

import pytest

from village_brain.core.records import Problem
from village_brain.ingest.codecs.lineprotocol import Point, parse_lines, time_ms

# The example of Telegraf's MQTT output README, one line of it.
TELEGRAF_MODBUS = (
    rb"modbus,location=main\ building,source=device\ 1,status=ok,type=Machine\ A "
    rb'temperature=21.4,serial\ number="324nlk234r5u9834t",working\ hours=123i,supplied=true '
    rb"1676522982000000000"
)


def one(line: bytes) -> Point:
    points, problems = parse_lines(line)
    assert not problems, problems
    [point] = points
    return point


def refused(line: bytes) -> Problem:
    points, problems = parse_lines(line)
    assert not points
    [problem] = problems
    assert problem.reason == "bad_payload"
    return problem


def test_the_telegraf_readme_line_is_read_with_its_escapes_undone_in_written_order():
    assert one(TELEGRAF_MODBUS) == Point(
        line=1,
        measurement="modbus",
        tags={
            "location": "main building",
            "source": "device 1",
            "status": "ok",
            "type": "Machine A",
        },
        fields={
            "temperature": 21.4,
            "serial number": "324nlk234r5u9834t",
            "working hours": 123,
            "supplied": True,
        },
        time=1676522982000000000,
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (b"1", 1.0),
        (b"-1.234456e+78", -1.234456e78),
        (b"-12485903i", -12485903),
        (b"12485903u", 12485903),
        (b"18446744073709551615u", 18446744073709551615),
        (b"-9223372036854775808i", -9223372036854775808),
        (b'"\\"string\\" within a string"', '"string" within a string'),
        (b'"back\\\\slash"', "back\\slash"),
        (b'"Launch \xf0\x9f\x9a\x80"', "Launch 🚀"),
    ],
)
def test_a_field_value_is_read_as_its_type(value: bytes, expected: object):
    [read] = one(b"m f=" + value).fields.values()
    assert read == expected and type(read) is type(expected)


@pytest.mark.parametrize(
    ("word", "expected"),
    [(w, True) for w in (b"t", b"T", b"true", b"True", b"TRUE")]
    + [(w, False) for w in (b"f", b"F", b"false", b"False", b"FALSE")],
)
def test_every_boolean_spelling_is_a_boolean(word: bytes, expected: bool):
    assert one(b"m f=" + word).fields == {"f": expected}


def test_escaped_commas_spaces_and_equals_signs_are_part_of_names():
    point = one(rb"my\ m\,x,tag\ k\=1=tag\ v\,1 field\ k=1")
    assert (point.measurement, point.tags, point.fields) == (
        "my m,x",
        {"tag k=1": "tag v,1"},
        {"field k": 1.0},
    )


def test_a_line_without_a_timestamp_has_no_time():
    assert one(b"m f=1").time is None


@pytest.mark.parametrize(
    "line",
    [
        b"m f=18446744073709551616u",  # beyond an unsigned 64-bit integer
        b"m f=9223372036854775808i",  # beyond a signed one
        b"m f=-1u",
        b"m f=NaN",
        b"m f=inf",
        b"m f=tru",
        b"m f=",
        b"m",
        b"m f=1 1.5",  # a timestamp must be an integer
        b"m,t= f=1",  # tags cannot be empty
        b"21.4",
    ],
)
def test_a_line_influxdb_would_refuse_is_refused(line: bytes):
    assert "line 1 is not InfluxDB line protocol" in refused(line).detail


def test_blank_lines_comments_and_crlf_line_ends_are_accepted():
    body = b"# written by hand\r\n\r\nm f=1 5\r\n\n  \nm f=2\n"
    points, problems = parse_lines(body)
    assert [(p.line, p.fields["f"], p.time) for p in points] == [(3, 1.0, 5), (6, 2.0, None)]
    assert not problems


def test_a_bad_line_is_refused_by_number_and_its_neighbours_are_read():
    points, problems = parse_lines(b"m f=1\nm f=\nm f=3\n")
    assert [p.fields["f"] for p in points] == [1.0, 3.0]
    assert [p.detail.split(" is ")[0] for p in problems] == ["line 2"]


def test_a_line_that_is_not_utf8_is_refused_alone():
    points, problems = parse_lines(b'm f="\xff"\nm f=1')
    assert len(points) == 1 and "line 1 is not UTF-8" in problems[0].detail


def test_a_newline_inside_a_string_splits_the_line_and_both_halves_are_refused():
    points, problems = parse_lines(b'm f="two\nlines",g=1')
    assert not points and len(problems) == 2


def test_a_long_bad_line_is_shown_cut_short():
    detail = refused(b"m f=" + b"x" * 1000).detail
    assert len(detail) < 200 and "…" in detail


@pytest.mark.parametrize(
    ("precision", "time", "ms"),
    [
        ("ns", 1676522982123456789, 1676522982123),
        ("us", 1676522982123456, 1676522982123),
        ("ms", 1676522982123, 1676522982123),
        ("s", 1676522982, 1676522982000),
        ("ns", -1, -1),  # rounded down, before 1970 too
    ],
)
def test_a_timestamp_becomes_milliseconds_in_its_precision(precision, time: int, ms: int):
    assert time_ms(time, precision) == ms


def test_no_body_makes_it_raise():
    rng = random.Random(1)
    alphabet = b'm f=1i,\\ "t\n\r#u.e-' + bytes(range(0x80, 0x90))
    for _ in range(5000):
        body = bytes(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
        points, problems = parse_lines(body)
        assert all(isinstance(p, Point) for p in points)
        assert all(isinstance(p, Problem) for p in problems)
