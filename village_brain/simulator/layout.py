"""Where the simulated devices stand: villages strung along one river in a Zhejiang valley."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from village_brain.core.devices import Device
from village_brain.simulator.kinds import BY_NAME, DeviceKind, kind_sequence

_METRES_PER_DEGREE = 111_320.0


@dataclass(frozen=True)
class SimDevice:
    id: str
    village: str
    kind: str
    lat: float
    lon: float
    place: str
    sensors: tuple[str, ...]

    def registry_entry(self) -> Device:
        """How the server should know this device: a demo registers its simulated village."""
        return Device(
            id=self.id,
            village=self.village,
            kind=self.kind,
            place=self.place,
            lat=self.lat,
            lon=self.lon,
            sensors=self.sensors,
            source="demo",
        )


@dataclass(frozen=True)
class Village:
    id: str
    lat: float
    lon: float
    # Direction the river flows through the village, degrees anticlockwise from east.
    river_heading: float


# Downstream order: the river leaves Shangtang, passes Xiashan, then Xikou.
VILLAGES: tuple[Village, ...] = (
    Village("xiashan", 30.6112, 119.6021, 22.0),
    Village("shangtang", 30.6066, 119.5861, 14.0),
    Village("xikou", 30.6187, 119.6188, 31.0),
)


def villages_for(devices: int) -> tuple[Village, ...]:
    if devices <= 14:
        return VILLAGES[:1]
    if devices <= 40:
        return VILLAGES[:2]
    return VILLAGES


def village_layout(devices: int = 24, seed: int = 7) -> list[SimDevice]:
    """`devices` devices spread over one to three villages; the same seed gives the same layout."""
    if devices < 1:
        raise ValueError(f"a village needs at least one device, not {devices}")
    rng = random.Random(seed)
    villages = villages_for(devices)
    per_village = [devices // len(villages)] * len(villages)
    for index in range(devices % len(villages)):
        per_village[index] += 1
    layout: list[SimDevice] = []
    for village, count in zip(villages, per_village, strict=True):
        layout.extend(_village_devices(village, count, rng))
    return layout


def _village_devices(village: Village, count: int, rng: random.Random) -> list[SimDevice]:
    places = {kind.name: rng.sample(kind.places, len(kind.places)) for kind in BY_NAME.values()}
    numbers: dict[str, int] = {}
    river_phase = rng.uniform(0, 2 * math.pi)
    devices = []
    for kind in kind_sequence(count):
        number = numbers[kind.name] = numbers.get(kind.name, 0) + 1
        lat, lon = _position(village, kind, river_phase, rng)
        devices.append(
            SimDevice(
                id=f"{kind.id_prefix}-{village.id}-{number:02d}",
                village=village.id,
                kind=kind.name,
                lat=round(lat, 6),
                lon=round(lon, 6),
                place=_place_name(places[kind.name], number),
                sensors=kind.sensors,
            )
        )
    return devices


def _place_name(places: list[str], number: int) -> str:
    name = places[(number - 1) % len(places)]
    round_ = (number - 1) // len(places)
    # A second lamp at the same spot is "村口路灯2号", as the village electrician would say.
    return name if round_ == 0 else f"{name}{round_ + 1}号"


def _position(
    village: Village, kind: DeviceKind, river_phase: float, rng: random.Random
) -> tuple[float, float]:
    along = rng.uniform(-800.0, 800.0)
    # The river meanders; the village sits on both banks.
    river = 70.0 * math.sin(along / 260.0 + river_phase)
    if kind.on_river:
        across = river + rng.uniform(-4.0, 4.0)
    else:
        across = river + rng.choice((-1, 1)) * rng.uniform(40.0, 650.0)
    heading = math.radians(village.river_heading)
    east = along * math.cos(heading) - across * math.sin(heading)
    north = along * math.sin(heading) + across * math.cos(heading)
    lat = village.lat + north / _METRES_PER_DEGREE
    lon = village.lon + east / (_METRES_PER_DEGREE * math.cos(math.radians(village.lat)))
    return lat, lon
