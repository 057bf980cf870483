"""A command checked like a reading: its target must be controllable, its value one the
catalog accepts for that sensor type (and one a command may ask for)."""

from __future__ import annotations

import msgspec

from village_brain.core.catalog import Catalog, SensorType
from village_brain.core.devices import Device
from village_brain.core.records import Problem, RawReading, Reading
from village_brain.ingest.validate import TimeWindow, check_reading


class Action(msgspec.Struct, frozen=True):
    """A named action: something a device does once, with no state to set."""

    name: str
    does: str
    dangerous: bool = False


ACTIONS: dict[str, Action] = {
    a.name: a
    for a in (
        Action("identify", "blink or beep so that someone on site can find the device"),
        Action("reboot", "restart the device's firmware", dangerous=True),
    )
}
_ANY_TIME = TimeWindow(max_clock_skew_ms=0, max_backfill_ms=0)


def is_dangerous(catalog: Catalog, target: str) -> bool:
    sensor = catalog.get(target)
    if sensor is not None:
        return sensor.dangerous
    action = ACTIONS.get(target)
    return action is not None and action.dangerous


def targets_of(catalog: Catalog, device: Device) -> list[str]:
    """What may be commanded on `device`: its controllable types (all, when it declares no
    sensors), then every action."""
    controllable = [t.id for t in catalog.types.values() if t.controllable]
    if device.sensors:
        controllable = [t for t in controllable if t in device.sensors]
    return [*controllable, *ACTIONS]


def check_command(
    catalog: Catalog, device: Device, target: str, value: object
) -> str | float | Problem | None:
    """The value as the device is sent it (a word for a boolean, a number), or why not."""
    if target in ACTIONS:
        if value is not None:
            return Problem("bad_command", f"the action {target!r} takes no value, only args")
        return None
    sensor = catalog.get(target)
    if sensor is None:
        known = ", ".join(sorted(ACTIONS))
        detail = f"{target[:64]!r} is neither a sensor type nor an action ({known})"
        return Problem("bad_command", detail)
    if not sensor.controllable:
        return Problem("bad_command", f"{sensor.id} is a measurement; it cannot be commanded")
    if device.sensors and sensor.id not in device.sensors:
        return Problem("bad_command", f"device {device.id!r} has no {sensor.id}")
    if value is None:
        return Problem("bad_command", f"a command to {sensor.id} needs a value")
    checked = _as_reading(catalog, sensor, value)
    if isinstance(checked, Problem):
        return Problem("bad_command", checked.detail)
    return _wire_value(sensor, checked.value)


def _as_reading(catalog: Catalog, sensor: SensorType, value: object) -> Reading | Problem:
    raw = RawReading(sensor.id, value)  # type: ignore[arg-type]
    checked = check_reading(raw, catalog, "-", "-", 0, _ANY_TIME)
    if isinstance(checked, Problem):
        return checked
    low = sensor.command_min if sensor.command_min is not None else sensor.min
    high = sensor.command_max if sensor.command_max is not None else sensor.max
    if sensor.kind == "number" and not (
        (low is None or checked.value >= low) and (high is None or checked.value <= high)
    ):
        return Problem("bad_command", f"{sensor.id} may be commanded from {low} to {high}")
    if not sensor.in_range(checked.value):
        return Problem("bad_command", f"{sensor.id} must be from {sensor.min} to {sensor.max}")
    return checked


def _wire_value(sensor: SensorType, canonical: float) -> str | float:
    if sensor.kind == "boolean":
        words = sensor.command_values or [sensor.true_words[0], sensor.false_words[0]]
        return words[0] if canonical else words[1]
    return canonical
