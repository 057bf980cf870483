"""Nested JSON values as flat field names: one naming rule for every adapter.

Families whose payloads are written by users (LoRaWAN payload decoders, Alink struct
properties) nest values as they please, so a field is named by its path from the top:
object keys are joined with `.` and list items are named by their position, counted from 0.
`{"air": {"temperature": 21.5}, "probes": [4.5, 5.0]}` gives the fields `air.temperature`,
`probes.0` and `probes.1`; field tables and a source's `fields` overrides use these names.
A `null` is no value and is skipped; so is anything nested deeper than MAX_DEPTH levels.
"""

from __future__ import annotations

from village_brain.ingest.sources.base import DeviceReport
from village_brain.ingest.sources.fields import FieldTable

MAX_DEPTH = 8


def flatten(value: object, prefix: str = "") -> list[tuple[str, object]]:
    """Every leaf under `value` with its field name, in the order the payload gives them."""
    leaves: list[tuple[str, object]] = []
    _walk(value, prefix, 0, leaves)
    return leaves


def read_nested(
    table: FieldTable, value: object, ts_ms: int | None, report: DeviceReport, prefix: str = ""
) -> None:
    """Add the readings the table maps under `value` to `report`, listing the rest as skipped."""
    for field, leaf in flatten(value, prefix):
        if leaf is None or isinstance(leaf, dict | list):
            report.skipped.append(field)
            continue
        reading = table.reading(field, leaf, ts_ms)
        if reading is None:
            report.skipped.append(field)
        else:
            report.readings.append(reading)


def _walk(node: object, path: str, depth: int, leaves: list[tuple[str, object]]) -> None:
    if isinstance(node, dict):
        children = [(str(key), child) for key, child in node.items()]
    elif isinstance(node, list):
        children = [(str(index), child) for index, child in enumerate(node)]
    else:
        leaves.append((path, node))
        return
    if depth >= MAX_DEPTH:
        leaves.append((path, node))
        return
    for key, child in children:
        _walk(child, f"{path}.{key}" if path else key, depth + 1, leaves)
