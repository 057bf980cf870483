"""Whether a device is online: from its status messages and from how long it has been silent.

And whether it is healthy: a device can be online and still have nothing of it stored, when
everything it sends is refused.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from village_brain.core.catalog import Catalog
from village_brain.core.devices import Presence

DEFAULT_INTERVAL_MS = 15 * 60_000

Health = Literal["ok", "refused", "offline", "unknown"]


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


def is_refused(presence: Presence, now_ms: int, silence_ms: int) -> bool:
    """Reporting, but refused: a message of it was refused within the silence limit, nothing
    of it was stored since, and it has not gone offline since.

    A message partly stored and partly refused counts as stored: times are compared by
    receipt, and the refusal must be strictly the later one.
    """
    refused = presence.last_refused_ms
    if refused is None or now_ms - refused > silence_ms:
        return False
    if presence.status == "offline" and (presence.status_ms or 0) >= refused:
        return False
    return refused > (presence.last_stored_ms or 0)


def health(presence: Presence, now_ms: int, silence_ms: int) -> Health:
    """ok (online), refused (see is_refused), offline, or unknown (never heard from)."""
    if is_refused(presence, now_ms, silence_ms):
        return "refused"
    if is_online(presence, now_ms, silence_ms):
        return "ok"
    heard = presence.last_seen_ms or presence.status_ms or presence.last_refused_ms
    return "offline" if heard else "unknown"
