"""Which device a villager's report is about, when one stands close by: a report of a dark
street beside a street lamp, of a blocked ditch beside a sluice gate. No I/O."""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping, Sequence

import msgspec

from village_brain.core.devices import Device
from village_brain.reports.records import Position

EARTH_RADIUS_M = 6_371_000.0


class DeviceMatch(msgspec.Struct, frozen=True):
    device: Device
    metres: float
    alerting: bool  # the device has an open alert


def metres_between(a: Position, b: Position) -> float:
    """Great-circle distance (haversine): exact enough for a village plan."""
    lat1, lat2 = math.radians(a.lat), math.radians(b.lat)
    dlat = lat2 - lat1
    dlon = math.radians(b.lon - a.lon)
    h = math.sin(dlat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(dlon / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def device_for_report(
    position: Position,
    category: str,
    devices: Iterable[Device],
    related_kinds: Mapping[str, Sequence[str]],
    within_m: float,
    alerting: Collection[str] = (),
) -> DeviceMatch | None:
    """The device of a kind related to the category, within `within_m` of the report: one
    with an open alert first (the lamp that reports `off`), then the nearest."""
    kinds = set(related_kinds.get(category, ()))
    if not kinds or within_m <= 0:
        return None
    found = []
    for device in devices:
        if device.kind not in kinds or device.lat is None or device.lon is None:
            continue
        metres = metres_between(position, Position(lat=device.lat, lon=device.lon))
        if metres <= within_m:
            found.append(DeviceMatch(device, metres, device.id in alerting))
    if not found:
        return None
    return min(found, key=lambda m: (not m.alerting, m.metres, m.device.id))
