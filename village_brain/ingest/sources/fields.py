"""Field names of a device family → our sensor types: data, not code.

Each family ships a table, `fields/<family>.toml`; a source's `fields` option overrides or
adds entries (`temperature = "water_temperature"`, or a table with `sensor`, `unit`,
`scale`), and `false` ignores a field. A field no table names is skipped and counted, never
refused: families send much that is not a measurement (firmware states, update flags).
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping
from importlib import resources

import msgspec

from village_brain.core.catalog import Catalog
from village_brain.core.records import RawReading, Value


class FieldRule(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    sensor: str
    unit: str | None = None  # the unit the family sends; the catalog converts it
    scale: float = 1.0  # applied before the unit conversion, for values sent in steps


Override = str | bool | FieldRule


class FieldTable:
    def __init__(self, rules: Mapping[str, FieldRule]) -> None:
        self._rules = dict(rules)

    def rule(self, field: str) -> FieldRule | None:
        return self._rules.get(field)

    def reading(self, field: str, raw: object, ts_ms: int | None) -> RawReading | None:
        """The raw reading `field` carries, or None when the table does not map it."""
        rule = self._rules.get(field)
        if rule is None:
            return None
        return RawReading(rule.sensor, _value(raw, rule.scale), rule.unit, ts_ms)

    def __contains__(self, field: str) -> bool:
        return field in self._rules

    def items(self) -> list[tuple[str, FieldRule]]:
        return list(self._rules.items())


def load_table(family: str, overrides: Mapping[str, Override], catalog: Catalog) -> FieldTable:
    """The family's shipped table with a source's overrides; ValueError names a bad entry."""
    text = resources.files(__package__).joinpath(f"fields/{family}.toml").read_text("utf-8")
    rules = msgspec.convert(tomllib.loads(text), dict[str, FieldRule])
    for field, override in overrides.items():
        if override is False:
            rules.pop(field, None)
        elif isinstance(override, str):
            rules[field] = FieldRule(sensor=override)
        elif isinstance(override, FieldRule):
            rules[field] = override
    for field, rule in rules.items():
        if catalog.get(rule.sensor) is None:
            raise ValueError(
                f"field {field!r} maps to sensor type {rule.sensor!r}, which is not in the catalog"
            )
    return FieldTable(rules)


def _value(raw: object, scale: float) -> Value:
    """A field's value as the validator expects it: numbers as floats, text as sent.

    Families send numbers as text now and then (`"80.00"`), so text that reads as a finite
    number is one; anything else stays text for boolean sensors' words or a clear refusal.
    """
    kind = type(raw)
    if kind is bool or (kind is str and not _numeric(raw)):  # type: ignore[arg-type]
        return raw  # type: ignore[return-value]
    try:
        number = float(raw)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return repr(raw)[:64]
    return number * scale if scale != 1.0 else number


def _numeric(text: str) -> bool:
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False
