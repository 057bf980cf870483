"""A simulated village for the dashboard: the simulator's layout and believable history.

History goes through the broker like any device's messages (native format, `batch` of
past readings), so the pages show what ingest really stored.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Iterable

from village_brain.core.devices import Device
from village_brain.service import Service
from village_brain.simulator import SimDevice, village_layout

HOUR_MS = 3_600_000
BOOLEAN_SENSORS = frozenset({"smoke", "lamp_state", "siren_state"})
# sensor → (level, daily swing, noise); the swing peaks mid-afternoon.
_SHAPES: dict[str, tuple[float, float, float]] = {
    "water_level": (1.35, 0.12, 0.01),
    "rainfall": (0.0, 0.0, 0.0),
    "water_ph": (7.2, 0.15, 0.02),
    "turbidity": (12.0, 4.0, 0.8),
    "dissolved_oxygen": (8.1, 0.9, 0.05),
    "soil_moisture": (31.0, -3.0, 0.3),
    "soil_temperature": (17.5, 2.5, 0.1),
    "air_temperature": (19.0, 5.0, 0.3),
    "air_humidity": (72.0, -15.0, 1.0),
    "illuminance": (0.0, 0.0, 0.0),
    "pm2_5": (28.0, 6.0, 2.0),
    "pm10": (46.0, 9.0, 3.0),
    "smoke": (0.0, 0.0, 0.0),
    "combustible_gas": (0.4, 0.1, 0.05),
    "lamp_state": (0.0, 0.0, 0.0),
    "lamp_power": (0.0, 0.0, 0.0),
    "cover_tilt": (0.6, 0.0, 0.1),
    "battery_voltage": (3.62, 0.03, 0.005),
    "rssi": (-82.0, 0.0, 3.0),
}


def demo_devices(count: int = 24) -> list[SimDevice]:
    return village_layout(count)


def register(service: Service, layout: Iterable[SimDevice]) -> None:
    service.register_devices(
        Device(
            id=d.id,
            village=d.village,
            kind=d.kind,
            place=d.place,
            lat=d.lat,
            lon=d.lon,
            sensors=d.sensors,
            source="demo",
        )
        for d in layout
    )


def value_at(sensor: str, ts_ms: int, rng: random.Random) -> float:
    hour = (ts_ms / HOUR_MS + 8) % 24  # local time in Zhejiang
    daylight = max(0.0, math.sin((hour - 6) / 12 * math.pi))
    if sensor == "illuminance":
        return round(42_000 * daylight**1.5 + rng.uniform(0, 30), 0)
    if sensor == "lamp_state":
        return 0.0 if 6 <= hour < 18 else 1.0
    if sensor == "lamp_power":
        return 0.0 if 6 <= hour < 18 else round(38 + rng.uniform(-1.5, 1.5), 1)
    if sensor == "rainfall":
        return round(max(0.0, rng.gauss(-0.6, 0.8)), 1)
    level, swing, noise = _SHAPES.get(sensor, (1.0, 0.2, 0.05))
    daily = math.cos((hour - 15) / 24 * 2 * math.pi)
    return round(level + swing * daily + rng.gauss(0, noise), 3)


def telemetry(
    device: SimDevice, start_ms: int, end_ms: int, step_ms: int, seed: int = 1
) -> list[tuple[str, str]]:
    """(topic, payload) messages carrying the device's readings from start to end."""
    rng = random.Random(f"{device.id}-{seed}")
    topic = f"village/{device.village}/{device.id}/telemetry"
    stamps = list(range(start_ms, end_ms + 1, step_ms))
    # Keep each message well under the per-message limit on readings.
    per_message = max(1, 400 // len(device.sensors))
    messages = []
    for first in range(0, len(stamps), per_message):
        batch = [
            {"ts": ts, "values": {s: _wire(s, value_at(s, ts, rng)) for s in device.sensors}}
            for ts in stamps[first : first + per_message]
        ]
        messages.append((topic, json.dumps({"batch": batch})))
    return messages


def _wire(sensor: str, value: float) -> float | bool:
    return bool(value) if sensor in BOOLEAN_SENSORS else value
