"""Turning a modelled quantity into what an instrument reports: its range, its resolution."""

from __future__ import annotations

import math

from village_brain.core.catalog import SensorType

Reported = float | int | bool


def settle(sensor: SensorType, value: float | bool) -> Reported:
    """Clamp to the sensor type's range and round to its resolution, as firmware would."""
    if sensor.kind == "boolean":
        return bool(value)
    number = float(value)
    if sensor.min is not None:
        number = max(sensor.min, number)
    if sensor.max is not None:
        number = min(sensor.max, number)
    step = sensor.resolution
    if not step:
        return number
    # Rounding the step count and then the decimals keeps 0.2 * 3 from printing as 0.6000000001.
    decimals = max(0, -math.floor(math.log10(step)))
    stepped = round(round(number / step) * step, decimals)
    return int(stepped) if step >= 1 and float(step).is_integer() else stepped
