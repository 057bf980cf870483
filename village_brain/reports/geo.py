"""Distances on the village plan: great-circle metres between two positions."""

from __future__ import annotations

import math

from village_brain.reports.records import Position

# The mean Earth radius (IUGG); on a village's scale the spheroid's error is centimetres.
EARTH_RADIUS_M = 6_371_008.8
METRES_PER_DEGREE_LAT = math.pi * EARTH_RADIUS_M / 180


def haversine_m(a: Position, b: Position) -> float:
    lat1, lat2 = math.radians(a.lat), math.radians(b.lat)
    dlat = lat2 - lat1
    dlon = math.radians(b.lon - a.lon)
    h = math.sin(dlat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(dlon / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def offset(origin: Position, north_m: float, east_m: float) -> Position:
    """The position this many metres north and east of origin (small distances)."""
    lat = origin.lat + north_m / METRES_PER_DEGREE_LAT
    lon = origin.lon + east_m / (METRES_PER_DEGREE_LAT * math.cos(math.radians(origin.lat)))
    return Position(lat, lon)
