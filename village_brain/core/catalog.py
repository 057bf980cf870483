"""The sensor catalog: sensor types, their units and ranges, loaded from a data file."""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Literal

import msgspec

from village_brain.core.ids import id_problem
from village_brain.core.timefmt import duration_ms


class UnitConversion(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    factor: float
    offset: float = 0.0


class SensorType(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    id: str
    quantity: str
    unit: str
    symbol: str
    kind: Literal["number", "boolean"]
    interval: str
    min: float | None = None
    max: float | None = None
    resolution: float | None = None
    aliases: list[str] = []
    units: dict[str, UnitConversion] = {}
    senml_names: list[str] = []
    true_words: list[str] = []
    false_words: list[str] = []
    # Control (see docs/control.md): a controllable type may be commanded, to a value this
    # type accepts as a reading and, when `command_values` is set, only to one of those words
    # (or, for a number, in `command_min`..`command_max`). `dangerous` asks for a confirmation.
    controllable: bool = False
    command_values: list[str] = []
    command_min: float | None = None
    command_max: float | None = None
    dangerous: bool = False

    @property
    def interval_ms(self) -> int:
        return duration_ms(self.interval)

    def conversion(self, unit: str | None) -> UnitConversion | None:
        """How to turn a value in `unit` into the canonical unit; None when unknown."""
        if unit is None or unit == self.unit or unit in self.aliases:
            return _IDENTITY
        return self.units.get(unit)

    def in_range(self, value: float) -> bool:
        return (self.min is None or value >= self.min) and (self.max is None or value <= self.max)


_IDENTITY = UnitConversion(factor=1.0)


class Catalog:
    """All sensor types, by id and by SenML name."""

    def __init__(self, types: list[SensorType]) -> None:
        self.types = {t.id: t for t in types}
        self._by_senml = {name: t for t in types for name in (t.id, *t.senml_names)}

    def get(self, sensor_id: str) -> SensorType | None:
        return self.types.get(sensor_id)

    def by_senml_name(self, name: str) -> SensorType | None:
        return self._by_senml.get(name.lower())

    @classmethod
    def from_toml(cls, text: str, source: str = "sensor catalog") -> Catalog:
        try:
            raw = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ValueError(f"{source}: {exc}") from None
        types = []
        for sensor_id, fields in raw.items():
            problem = id_problem("sensor type", sensor_id)
            if problem:
                raise ValueError(f"{source}: {problem}")
            if not isinstance(fields, dict):
                detail = f"write sensor type {sensor_id!r} as a [{sensor_id}] table"
                raise ValueError(f"{source}: {detail}")
            try:
                sensor = msgspec.convert({"id": sensor_id, **fields}, SensorType)
                sensor.interval_ms  # noqa: B018 - fail at load, not at first use
            except (msgspec.ValidationError, ValueError) as exc:
                raise ValueError(f"{source}: sensor type {sensor_id!r}: {exc}") from None
            types.append(sensor)
        return cls(types)


@cache
def default_catalog() -> Catalog:
    text = resources.files("village_brain.core").joinpath("sensor_types.toml").read_text("utf-8")
    return Catalog.from_toml(text, "built-in sensor catalog")


def load_catalog(path: Path | None) -> Catalog:
    if path is None:
        return default_catalog()
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"catalog file {path}: {exc}") from None
    return Catalog.from_toml(text, f"catalog file {path}")
