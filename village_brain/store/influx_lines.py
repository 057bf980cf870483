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


# A series' line up to its value, by (village, device, sensor): building and escaping the
# tags took most of a line's cost, and a fleet has a bounded number of series.
_heads: dict[tuple[str, str, str], str] = {}
MAX_HEADS = 200_000


def _head(key: tuple[str, str, str]) -> str:
    if len(_heads) >= MAX_HEADS:
        _heads.clear()  # ids nobody registered must not grow this without end
    tags = ",".join(f"{name}={escape_tag(value)}" for name, value in zip(TAGS, key, strict=True))
    head = _heads[key] = f"{MEASUREMENT},{tags} {FIELD}="
    return head


def line(reading: Reading) -> str:
    key = (reading.village, reading.device, reading.sensor)
    head = _heads.get(key) or _head(key)
    # repr keeps every digit of the float and always shows it as a float (1.0, not 1),
    # so InfluxDB never types the field as an integer.
    return f"{head}{reading.value!r} {reading.ts_ms}"


def lines(readings: Sequence[Reading]) -> str:
    return "\n".join(line(r) for r in readings)
