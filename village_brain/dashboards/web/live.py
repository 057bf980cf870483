"""Fan-out of bus announcements to live browser clients.

The bus calls listeners on the ingest writer's thread, so handing an event to a client must
never wait: each client has a bounded buffer that drops its oldest entries when the client
reads too slowly, and counts what it dropped so the client knows to fetch afresh.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

from village_brain.core.bus import Bus

Event = tuple[str, dict[str, Any]]
FORWARDED = frozenset({"readings", "status", "alert"})


class ClientFeed:
    """One client's buffer, filled from any thread, drained on the client's event loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop, capacity: int) -> None:
        self._loop = loop
        self._items: deque[Event] = deque(maxlen=capacity)
        self._lock = threading.Lock()
        self._wake = asyncio.Event()
        self._wake_scheduled = False
        self._dropped = 0

    def offer(self, event: Event) -> None:
        with self._lock:
            if len(self._items) == self._items.maxlen:
                self._dropped += 1
            self._items.append(event)
            if self._wake_scheduled:
                return
            self._wake_scheduled = True
        # A closed loop means the client is gone and its feed is about to be removed.
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(self._wake_up)

    async def next_batch(self, timeout_s: float) -> tuple[list[Event], int]:
        """Everything buffered and how much was dropped; empty after `timeout_s` of quiet."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout_s)
        self._wake.clear()
        with self._lock:
            items, dropped = list(self._items), self._dropped
            self._items.clear()
            self._dropped = 0
        return items, dropped

    def _wake_up(self) -> None:
        with self._lock:
            self._wake_scheduled = False
        self._wake.set()


class LiveHub:
    def __init__(self, capacity: int = 256) -> None:
        self.capacity = capacity
        self._feeds: list[ClientFeed] = []
        self._lock = threading.Lock()
        self._detach: Callable[[], None] | None = None

    @property
    def client_count(self) -> int:
        return len(self._feeds)

    def attach(self, bus: Bus) -> None:
        self._detach = bus.subscribe(self.publish)

    def detach(self) -> None:
        if self._detach is not None:
            self._detach()
            self._detach = None

    def open(self, loop: asyncio.AbstractEventLoop) -> ClientFeed:
        feed = ClientFeed(loop, self.capacity)
        with self._lock:
            self._feeds = [*self._feeds, feed]
        return feed

    def close(self, feed: ClientFeed) -> None:
        with self._lock:
            self._feeds = [f for f in self._feeds if f is not feed]

    def publish(self, kind: str, payload: dict[str, Any]) -> None:
        if kind not in FORWARDED:
            return
        for feed in self._feeds:
            feed.offer((kind, payload))
