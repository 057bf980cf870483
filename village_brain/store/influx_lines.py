"""The InfluxDB schema of a reading, written as line protocol.

One measurement, `reading`; tags village, device and sensor; one float field, `value`;
timestamps in milliseconds. Series cardinality is devices × sensors, bounded by the
registry, because nothing unbounded (values, message ids, times) is ever a tag.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from village_brain.core.records import Reading

MEASUREMENT = "reading"
FIELD = "value"
TAGS = ("village", "device", "sensor")

# Tag keys and values must escape commas, equals signs and spaces;
# ids are usually plain, but a stray one must not split a line.
_TAG_SPECIAL = re.compile(r"([,= ])")


def escape_tag(text: str) -> str:
    return _TAG_SPECIAL.sub(r"\\\1", text)


def line(reading: Reading) -> str:
    tags = ",".join(f"{key}={escape_tag(getattr(reading, key))}" for key in TAGS)
    # repr keeps every digit of the float and always shows it as a float (1.0, not 1),
    # so InfluxDB never types the field as an integer.
    return f"{MEASUREMENT},{tags} {FIELD}={reading.value!r} {reading.ts_ms}"


def lines(readings: Sequence[Reading]) -> str:
    return "\n".join(line(r) for r in readings)
