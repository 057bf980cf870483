"""Fan-out of bus announcements to live browser clients.

The bus calls listeners on the ingest writer's thread, so handing an event to a client must
never wait. Each event is encoded once, for every client; each client then has a buffer
bounded in bytes, not events, since one committed batch can carry thousands of readings. A
client that reads too slowly loses its oldest events, and is told how many so it can fetch
afresh: a client that stops reading holds a bounded amount of memory, however busy ingest is.
The hub can also be shut, which ends every stream so that the server can stop.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import msgspec

from village_brain.core.bus import Bus

FORWARDED = frozenset({"readings", "status", "alert", "work"})
BUDGET_BYTES = 2 * 1024 * 1024
# A bigger batch goes out as several `readings` events, so no one event is large.
READINGS_PER_FRAME = 5_000
# How often a stream asks again whether its caller may still read.
RECHECK_S = 5.0


@dataclass(frozen=True, slots=True)
class Frame:
    """One server-sent event, ready to write."""

    kind: str
    data: bytes


@dataclass(frozen=True, slots=True)
class Batch:
    frames: list[Frame]
    dropped: int


def sse(kind: str, payload: Any) -> Frame:
    # Anything JSON has no type for (a date, a path) goes as its text.
    data = msgspec.json.encode(payload, enc_hook=str)
    return Frame(kind, b"event: %s\ndata: %s\n\n" % (kind.encode(), data))


class ClientFeed:
    """One client's buffer, filled from any thread, drained on the client's event loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop, budget_bytes: int) -> None:
        self._loop = loop
        self._budget = budget_bytes
        self._frames: deque[Frame] = deque()
        self._bytes = 0
        self._lock = threading.Lock()
        self._wake = asyncio.Event()
        self._wake_scheduled = False
        self._dropped = 0
        self._ended = False

    @property
    def ended(self) -> bool:
        return self._ended

    @property
    def buffered_bytes(self) -> int:
        return self._bytes

    def offer(self, frame: Frame) -> None:
        with self._lock:
            if self._ended:
                return
            self._frames.append(frame)
            self._bytes += len(frame.data)
            # The newest frame stays even when it alone is over budget: it is shared, not copied.
            while self._bytes > self._budget and len(self._frames) > 1:
                self._bytes -= len(self._frames.popleft().data)
                self._dropped += 1
        self._schedule_wake()

    def end(self) -> None:
        """Make the client's stream finish: the server is stopping."""
        with self._lock:
            self._ended = True
            self._frames.clear()
            self._bytes = 0
        self._schedule_wake()

    async def next_batch(self, timeout_s: float) -> Batch:
        """Everything buffered and how much was dropped; empty after `timeout_s` of quiet."""
        if not self._ended:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout_s)
        self._wake.clear()
        with self._lock:
            batch = Batch(list(self._frames), self._dropped)
            self._frames.clear()
            self._bytes = 0
            self._dropped = 0
        return batch

    def _schedule_wake(self) -> None:
        with self._lock:
            if self._wake_scheduled:
                return
            self._wake_scheduled = True
        # A closed loop means the client is gone and its feed is about to be removed.
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(self._wake_up)

    def _wake_up(self) -> None:
        with self._lock:
            self._wake_scheduled = False
        self._wake.set()


class LiveHub:
    def __init__(self, budget_bytes: int = BUDGET_BYTES, recheck_s: float = RECHECK_S) -> None:
        self.budget_bytes = budget_bytes
        self.recheck_s = recheck_s
        self._feeds: list[ClientFeed] = []
        self._lock = threading.Lock()
        self._detach: Callable[[], None] | None = None
        self._closing = False

    @property
    def client_count(self) -> int:
        return len(self._feeds)

    @property
    def closing(self) -> bool:
        return self._closing

    @property
    def buffered_bytes(self) -> int:
        """What all clients' buffers hold, in bytes (each client counted on its own)."""
        return sum(feed.buffered_bytes for feed in self._feeds)

    def attach(self, bus: Bus) -> None:
        self._detach = bus.subscribe(self.publish, self.wants)

    def detach(self) -> None:
        if self._detach is not None:
            self._detach()
            self._detach = None

    def open(self, loop: asyncio.AbstractEventLoop) -> ClientFeed:
        """A new client's feed; already ended once the hub is shut."""
        feed = ClientFeed(loop, self.budget_bytes)
        with self._lock:
            if self._closing:
                feed.end()
            self._feeds = [*self._feeds, feed]
        return feed

    def close(self, feed: ClientFeed) -> None:
        with self._lock:
            self._feeds = [f for f in self._feeds if f is not feed]

    def shut(self) -> None:
        """End every stream, and every one opened from now on, so the server can stop."""
        with self._lock:
            self._closing = True
            feeds = self._feeds
        for feed in feeds:
            feed.end()

    def wants(self, kind: str) -> bool:
        """Only what it forwards, and only while a client is connected."""
        return kind in FORWARDED and bool(self._feeds)

    def publish(self, kind: str, payload: dict[str, Any]) -> None:
        if not self.wants(kind):
            return
        feeds = self._feeds
        for frame in frames_of(kind, payload):
            for feed in feeds:
                feed.offer(frame)


def frames_of(kind: str, payload: dict[str, Any]) -> list[Frame]:
    readings = payload.get("readings") if kind == "readings" else None
    if readings is None or len(readings) <= READINGS_PER_FRAME:
        return [sse(kind, payload)]
    return [
        sse(kind, {"readings": readings[first : first + READINGS_PER_FRAME]})
        for first in range(0, len(readings), READINGS_PER_FRAME)
    ]
