"""Hotspots: how many items each place had of each category, week by week, and which.

A place is the place named on the plan when the item has one (a villager picked it, or the
alert's device stands there) — unless `named` is off — and otherwise a square cell of the
grid `cell_m` metres a side that holds the item's position. The grid is fixed to the globe
(rows of equal latitude, columns as wide in metres as the row is tall), so a cell is the
same cell in every week and every query. Weeks are ISO weeks (Monday first) in the
village's time zone.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import msgspec

from village_brain.reports.geo import METRES_PER_DEGREE_LAT
from village_brain.reports.records import Position
from village_brain.reports.sightings import Sighting

UNPLACED = "none"


class Place(msgspec.Struct, frozen=True):
    key: str  # "place:北桥河岸", "cell:3346:12140", or "none" for items with no position
    label: str
    center: Position | None = None


class HotCell(msgspec.Struct, frozen=True):
    place: Place
    category: str
    week: str  # ISO week such as "2026-W49"
    count: int
    refs: tuple[str, ...]  # the sightings behind the count, oldest first


def grid_cell(position: Position, cell_m: float) -> Place:
    dlat = cell_m / METRES_PER_DEGREE_LAT
    row = math.floor(position.lat / dlat)
    center_lat = (row + 0.5) * dlat
    dlon = cell_m / (METRES_PER_DEGREE_LAT * math.cos(math.radians(center_lat)))
    col = math.floor(position.lon / dlon)
    center = Position(round(center_lat, 6), round((col + 0.5) * dlon, 6))
    return Place(f"cell:{row}:{col}", f"{center.lat:.4f},{center.lon:.4f}", center)


def place_of(sighting: Sighting, cell_m: float, named: bool = True) -> Place:
    if named and sighting.place:
        return Place(f"place:{sighting.place}", sighting.place, sighting.position)
    if sighting.position is not None:
        return grid_cell(sighting.position, cell_m)
    if sighting.place:
        return Place(f"place:{sighting.place}", sighting.place)
    return Place(UNPLACED, "")


def week_of(at_ms: int, zone: ZoneInfo) -> str:
    year, week, _ = _local(at_ms, zone).isocalendar()
    return f"{year}-W{week:02d}"


def week_start_ms(at_ms: int, zone: ZoneInfo, weeks_back: int = 0) -> int:
    """Monday 00:00 local of the week at_ms is in, or of the week weeks_back before it."""
    day = _local(at_ms, zone).date() - timedelta(days=_local(at_ms, zone).weekday())
    day -= timedelta(weeks=weeks_back)
    return int(datetime(day.year, day.month, day.day, tzinfo=zone).timestamp() * 1000)


def hotspots(
    sightings: Iterable[Sighting], cell_m: float, zone: ZoneInfo, named: bool = True
) -> list[HotCell]:
    """Counts by place × category × week, the largest first."""
    buckets: dict[tuple[str, str, str], list[Sighting]] = {}
    places: dict[str, Place] = {}
    for s in sightings:
        place = places.setdefault(place_of(s, cell_m, named).key, place_of(s, cell_m, named))
        buckets.setdefault((place.key, s.category, week_of(s.at_ms, zone)), []).append(s)
    cells = [
        HotCell(
            places[key],
            category,
            week,
            len(found),
            tuple(s.ref for s in sorted(found, key=lambda s: (s.at_ms, s.ref))),
        )
        for (key, category, week), found in buckets.items()
    ]
    cells.sort(key=lambda c: (-c.count, c.week, c.place.key, c.category))
    return cells


def _local(at_ms: int, zone: ZoneInfo) -> datetime:
    return datetime.fromtimestamp(at_ms / 1000, UTC).astimezone(zone)
