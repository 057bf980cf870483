"""Field lookups that try the most specific name first.

Families that nest readings under a sensor or component (Tasmota's `DS18B20-2.Temperature`,
Shelly's `temperature:100.tC`) let a source map one sensor without touching the others: the
adapter offers names from the most specific to the most general, and the first one the table
knows wins. A name set to `false` in a source's `fields` stops the search, so
`"ESP32.Temperature" = false` keeps a chip's own temperature out while `Temperature` still
maps every other sensor.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from village_brain.core.catalog import Catalog
from village_brain.core.records import RawReading
from village_brain.ingest.sources.base import DeviceReport
from village_brain.ingest.sources.fields import FieldTable, Override, load_table


class FieldLookup:
    def __init__(self, table: FieldTable, ignored: Iterable[str]) -> None:
        self._table = table
        self._ignored = frozenset(ignored)

    def reading(self, names: Iterable[str], raw: object, ts_ms: int | None) -> RawReading | None:
        """The reading of the first of `names` the table maps; None when none is, or one is
        ignored before it."""
        for name in names:
            if name in self._ignored:
                return None
            if name in self._table:
                return self._table.reading(name, raw, ts_ms)
        return None


def make_lookup(
    family: str,
    overrides: Mapping[str, Override],
    catalog: Catalog,
    defaults: Mapping[str, Override] | None = None,
) -> FieldLookup:
    """The family's table with its built-in `defaults` and then the source's `overrides`."""
    merged = {**(defaults or {}), **overrides}
    ignored = [name for name, override in merged.items() if override is False]
    return FieldLookup(load_table(family, merged, catalog), ignored)


def add_reading(report: DeviceReport, reading: RawReading, name: str) -> None:
    """Add `reading` unless the report already has its sensor type.

    Two sensors of one device that map to the same type in one message would share a time,
    and the store keeps only the first of such repeats; listing the later ones as skipped
    says which to map to another type instead of losing them silently.
    """
    if any(kept.sensor == reading.sensor for kept in report.readings):
        report.skipped.append(name)
    else:
        report.readings.append(reading)
