"""The sun: its height over the valley and the daylight it gives."""

from __future__ import annotations

import math
from datetime import UTC, datetime

HOUR_MS = 3_600_000
# China Standard Time; at 120°E it is also close to local solar time.
CST_OFFSET_H = 8.0


def local_hour(t_ms: int) -> float:
    """Hour of the day on the village clock (UTC+8), 0 to 24."""
    return (t_ms / HOUR_MS + CST_OFFSET_H) % 24.0


def day_of_year(t_ms: int) -> int:
    return datetime.fromtimestamp(t_ms / 1000 + CST_OFFSET_H * 3600, UTC).timetuple().tm_yday


def sun_elevation(t_ms: int, lat: float, lon: float) -> float:
    """Degrees of the sun above the horizon (negative below), by the NOAA approximation."""
    utc = datetime.fromtimestamp(t_ms / 1000, UTC)
    hour = utc.hour + utc.minute / 60 + utc.second / 3600
    gamma = 2 * math.pi / 365 * (utc.timetuple().tm_yday - 1 + (hour - 12) / 24)
    declination = (
        0.006918
        - 0.399912 * math.cos(gamma)
        + 0.070257 * math.sin(gamma)
        - 0.006758 * math.cos(2 * gamma)
        + 0.000907 * math.sin(2 * gamma)
        - 0.002697 * math.cos(3 * gamma)
        + 0.00148 * math.sin(3 * gamma)
    )
    equation_of_time = 229.18 * (
        0.000075
        + 0.001868 * math.cos(gamma)
        - 0.032077 * math.sin(gamma)
        - 0.014615 * math.cos(2 * gamma)
        - 0.040849 * math.sin(2 * gamma)
    )
    solar_minutes = hour * 60 + equation_of_time + 4 * lon
    hour_angle = math.radians(solar_minutes / 4 - 180)
    phi = math.radians(lat)
    cos_zenith = math.sin(phi) * math.sin(declination) + math.cos(phi) * math.cos(
        declination
    ) * math.cos(hour_angle)
    return 90.0 - math.degrees(math.acos(max(-1.0, min(1.0, cos_zenith))))


def daylight_lux(elevation: float, clearness: float) -> float:
    """Outdoor illuminance for a sun at `elevation` degrees under a sky `clearness` (0–1) clear.

    Twilight fades by a decade every three degrees, so a photocell crossing ~40 lx does so at
    about the moment people call dusk.
    """
    if elevation <= -9.0:
        return 0.0
    if elevation <= 0.0:
        lux = 400.0 * 10 ** (elevation / 3.0)
    else:
        lux = 400.0 + 110_000.0 * math.sin(math.radians(elevation)) ** 1.15
    return lux * (0.08 + 0.92 * clearness)
