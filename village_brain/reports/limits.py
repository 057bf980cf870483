"""How many reports one network address may make in a window, kept in memory.

A restart forgets the counts, which only lets an address start afresh; the per-phone limit
counts the reports kept in the store instead, so it holds across restarts.
"""

from __future__ import annotations

import threading
from collections import deque

# Addresses followed at once; past this the longest quiet ones are forgotten first.
MAX_KEYS = 20_000


class WindowLimit:
    """At most `limit` marks per key in any `window_ms`; a limit of 0 lets everything by."""

    def __init__(self, limit: int, window_ms: int) -> None:
        self.limit = limit
        self.window_ms = window_ms
        self._marks: dict[str, deque[int]] = {}
        self._lock = threading.Lock()

    def full(self, key: str, now_ms: int) -> bool:
        """Whether `key` has used its limit in the window ending now."""
        if self.limit == 0:
            return False
        with self._lock:
            marks = self._marks.get(key)
            if marks is None:
                return False
            self._forget_old(marks, now_ms)
            return len(marks) >= self.limit

    def mark(self, key: str, now_ms: int) -> None:
        if self.limit == 0:
            return
        with self._lock:
            marks = self._marks.pop(key, None) or deque()
            self._forget_old(marks, now_ms)
            marks.append(now_ms)
            # Re-inserted last: the dict's order is from the longest quiet to the latest.
            self._marks[key] = marks
            while len(self._marks) > MAX_KEYS:
                del self._marks[next(iter(self._marks))]

    def _forget_old(self, marks: deque[int], now_ms: int) -> None:
        while marks and marks[0] <= now_ms - self.window_ms:
            marks.popleft()
