"""Whether a device is online: from its status messages and from how long it has been silent."""

from __future__ import annotations

from collections.abc import Iterable

from village_brain.core.catalog import Catalog
from village_brain.core.devices import Presence

DEFAULT_INTERVAL_MS = 15 * 60_000


def silence_limit_ms(catalog: Catalog, sensors: Iterable[str], intervals: float) -> int:
    """A device is silent once it misses `intervals` reports of its most frequent sensor."""
    known = [t.interval_ms for s in sensors if (t := catalog.get(s)) is not None]
    return round(intervals * (min(known) if known else DEFAULT_INTERVAL_MS))


def is_online(presence: Presence, now_ms: int, silence_ms: int) -> bool:
    seen = presence.last_seen_ms
    if presence.status == "offline" and (seen is None or presence.status_ms >= seen):
        return False
    latest_sign = max(seen or 0, presence.status_ms or 0)
    return latest_sign > 0 and now_ms - latest_sign <= silence_ms
