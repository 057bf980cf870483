"""InfluxDB line protocol over MQTT, as Telegraf's MQTT output sends it.

Telegraf publishes to `telegraf/<host>/<measurement>` by default, one line per message
(`layout = "non-batch"`) or several (`"batch"`). The lines carry everything — measurement,
tags, fields, time — so the topic only selects messages; any filters can be configured.

Each line's device is the value of its `device_tag` tag (default `device`), or else of its
`host` tag, which Telegraf adds to every metric; its village is the `village` option, or the
value of its `village_tag` tag when one is configured and present. Field keys map to sensor
types through `fields/lineprotocol.toml` and the source's `fields`; with
`sensor_key = "measurement_field"`, `<measurement>_<field>` is looked up first, so that
`ds18b20_temperature` can be the soil while other temperatures are the air. Timestamps are
read in the source's `precision`, nanoseconds by default as Telegraf writes them.
A bad line is refused alone; the lines around it are still read.
"""

from __future__ import annotations

from typing import Literal

import msgspec

from village_brain.core.catalog import Catalog
from village_brain.core.ids import id_problem
from village_brain.core.records import Problem
from village_brain.ingest.codecs.lineprotocol import Point, Precision, parse_lines, time_ms
from village_brain.ingest.sources.base import DeviceReport, Translation, refused
from village_brain.ingest.sources.fields import FieldTable, Override, load_table
from village_brain.ingest.sources.ids import our_id

NAME = "lineprotocol"
_HOST_TAG = "host"


class Options(msgspec.Struct, forbid_unknown_fields=True):
    village: str = ""  # every device's village, unless `village_tag` names another
    village_tag: str = ""  # a tag whose value is the line's village
    topics: list[str] = msgspec.field(default_factory=lambda: ["telegraf/#"])
    device_tag: str = "device"  # falls back to the `host` tag
    id_prefix: str = ""
    precision: Precision = "ns"
    sensor_key: Literal["field", "measurement_field"] = "field"
    fields: dict[str, Override] = {}


def make(options: Options, catalog: Catalog) -> LineProtocol:
    if not options.village and not options.village_tag:
        raise ValueError("give the village, or a village_tag whose value names each line's")
    if options.village:
        problem = id_problem("village", options.village)
        if problem:
            raise ValueError(problem)
    if not options.topics:
        raise ValueError("topics is empty: give at least one MQTT topic filter")
    for topic in options.topics:
        problem = _filter_problem(topic)
        if problem:
            raise ValueError(f"topic filter {topic!r} {problem}")
    if not options.device_tag:
        raise ValueError("device_tag is empty: name the tag that says which device a line is")
    return LineProtocol(options, load_table(NAME, options.fields, catalog))


class LineProtocol:
    name = NAME

    def __init__(self, options: Options, table: FieldTable) -> None:
        self._options = options
        self._table = table

    def subscriptions(self) -> list[str]:
        return list(self._options.topics)

    def translate(
        self, topic: str, payload: bytes, received_ms: int, content_type: str | None
    ) -> Translation:
        points, problems = parse_lines(payload)
        if not points and not problems:
            return refused("bad_payload", "the message holds no line protocol lines")
        reports: dict[tuple[str, str], DeviceReport] = {}
        for point in points:
            report = self._report_for(point, reports)
            if isinstance(report, Problem):
                problems.append(report)
            else:
                self._read(point, report)
        return Translation(reports=list(reports.values()), problems=problems)

    def _report_for(
        self, point: Point, reports: dict[tuple[str, str], DeviceReport]
    ) -> DeviceReport | Problem:
        """The report of the line's device, shared by all its lines in the message."""
        options = self._options
        foreign = point.tags.get(options.device_tag) or point.tags.get(_HOST_TAG)
        if not foreign:
            detail = (
                f"line {point.line} ({point.measurement[:64]!r}) has neither a "
                f"{options.device_tag!r} nor a 'host' tag to say which device it is"
            )
            return Problem("bad_payload", detail)
        tagged = point.tags.get(options.village_tag) if options.village_tag else None
        village = tagged or options.village
        if not village:
            detail = (
                f"line {point.line} has no {options.village_tag!r} tag, and the source "
                "names no village to fall back on"
            )
            return Problem("bad_payload", detail)
        problem = id_problem("village", village)
        if problem:  # only a tag can be wrong: the option was checked at start
            detail = f"line {point.line}, tag {options.village_tag!r}: {problem}"
            return Problem("bad_payload", detail)
        key = (village, foreign)
        if key not in reports:
            device = our_id(foreign, options.id_prefix)
            reports[key] = DeviceReport(device, village, foreign_id=foreign)
        return reports[key]

    def _read(self, point: Point, report: DeviceReport) -> None:
        ts_ms = None if point.time is None else time_ms(point.time, self._options.precision)
        qualified = self._options.sensor_key == "measurement_field"
        for field, value in point.fields.items():
            key = field
            if qualified:
                key = f"{point.measurement}_{field}"
                if key not in self._table:
                    key = field if field in self._table else key
            reading = self._table.reading(key, value, ts_ms)
            if reading is None:
                report.skipped.append(key)
            else:
                report.readings.append(reading)


def _filter_problem(topic: str) -> str | None:
    """Why `topic` is not an MQTT topic filter, or None."""
    if not topic:
        return "is empty"
    levels = topic.split("/")
    for index, level in enumerate(levels):
        if "#" in level and (level != "#" or index != len(levels) - 1):
            return "has '#' other than as its whole last level"
        if "+" in level and level != "+":
            return "has '+' other than as a whole level"
    return None
