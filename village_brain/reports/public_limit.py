"""How many look-ups one network address may make a minute, counted in memory.

A restart forgets the counts, which only lets an address start afresh.
"""

from __future__ import annotations

import threading

MINUTE_MS = 60_000
# Addresses followed at once; past this the oldest minute's are forgotten.
MAX_KEYS = 20_000


class PerMinute:
    """At most `limit` look-ups per address in each clock minute; 0 lets everything by."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.refused = 0  # since start, for anyone looking at why villagers were turned away
        self._minute = -1
        self._counts: dict[str, int] = {}
        self._lock = threading.Lock()

    def take(self, key: str, now_ms: int) -> bool:
        """Count one look-up by key; False when it is over the limit (and so refused)."""
        if self.limit == 0:
            return True
        with self._lock:
            minute = now_ms // MINUTE_MS
            if minute != self._minute or len(self._counts) >= MAX_KEYS:
                self._minute, self._counts = minute, {}
            used = self._counts.get(key, 0)
            if used >= self.limit:
                self.refused += 1
                return False
            self._counts[key] = used + 1
            return True
