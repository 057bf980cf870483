"""Ingest counters for the stats API and the log: what came in, what was kept, what was refused."""

from __future__ import annotations

import threading
import time
from collections import Counter, deque
from collections.abc import Iterable

import msgspec


class SourceStats(msgspec.Struct):
    """One source's share of the traffic (our own village/... layout is `native`)."""

    messages: int = 0
    rejected: int = 0  # rejections of its messages and readings
    quiet: int = 0  # messages of the family's own that carry nothing for us
    skipped_fields: int = 0  # fields no field table maps


class SourceTally(msgspec.Struct, frozen=True):
    source: str
    rejected: int
    quiet: bool
    skipped: int


class StatsSnapshot(msgspec.Struct, frozen=True):
    started_ms: int
    messages_received: int
    readings_stored: int
    readings_duplicate: int
    rejected_total: int
    rejected_by_reason: dict[str, int]
    readings_per_second: float
    pending_messages: int
    broker_connected: bool
    last_commit_ms: int | None
    throttled_devices: list[str] = []
    stalled: bool = False  # messages wait and nothing was committed for the stall limit
    writer_restarts: int = 0
    by_source: dict[str, SourceStats] = {}
    rejected_repeats: int = 0  # retained messages sent again that were already refused
    partitions_receiving: list[int] | None = None  # AMQP input: partitions delivering to us
    partitions_owned: list[int] | None = None  # several workers: evaluation partitions held
    alert_batches_waiting: int | None = None  # committed, not yet evaluated; None: no alerts


class IngestStats:
    """Updated by the writer thread once per batch; read by the API from other threads."""

    RATE_WINDOW_S = 10.0
    THROTTLED_WINDOW_MS = 10 * 60_000  # how long a throttled device stays listed

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.started_ms = time.time_ns() // 1_000_000
        self.messages = 0
        self.stored = 0
        self.duplicates = 0
        self.rejected: Counter[str] = Counter()
        self.repeats = 0
        self.last_commit_ms: int | None = None
        self._commits: deque[tuple[float, int]] = deque()
        self._throttled: dict[str, int] = {}  # device -> arrival time of its last refused reading
        self.writer_restarts = 0
        self._sources: dict[str, SourceStats] = {}
        # When the writer last showed it keeps up: a commit, or an empty inbox.
        self._progress = time.monotonic()

    def record_batch(
        self, messages: int, readings: int, stored: int, reasons: list[str], repeats: int = 0
    ) -> None:
        now = time.monotonic()
        with self._lock:
            self.messages += messages
            self.stored += stored
            self.duplicates += readings - stored
            self.rejected.update(reasons)
            self.repeats += repeats
            self.last_commit_ms = time.time_ns() // 1_000_000
            self._progress = now
            self._commits.append((now, stored))
            while self._commits and now - self._commits[0][0] > self.RATE_WINDOW_S:
                self._commits.popleft()

    def record_sources(self, tallies: Iterable[SourceTally]) -> None:
        with self._lock:
            for tally in tallies:
                counts = self._sources.setdefault(tally.source, SourceStats())
                counts.messages += 1
                counts.rejected += tally.rejected
                counts.quiet += tally.quiet
                counts.skipped_fields += tally.skipped

    def note_idle(self) -> None:
        """Called by the writer when it finds nothing waiting."""
        self._progress = time.monotonic()

    def note_restart(self) -> None:
        with self._lock:
            self.writer_restarts += 1

    def note_throttled(self, device: str, at_ms: int) -> None:
        """Called by the flood guard for each reading it refuses."""
        with self._lock:
            self._throttled[device] = at_ms

    def _recently_throttled(self) -> list[str]:
        cutoff = time.time_ns() // 1_000_000 - self.THROTTLED_WINDOW_MS
        for device in [d for d, ms in self._throttled.items() if ms < cutoff]:
            del self._throttled[device]
        return sorted(self._throttled)

    def rate(self) -> float:
        now = time.monotonic()
        with self._lock:
            recent = sum(n for t, n in self._commits if now - t <= self.RATE_WINDOW_S)
        return recent / self.RATE_WINDOW_S

    def snapshot(
        self, pending: int, connected: bool, stall_after_s: float | None = None
    ) -> StatsSnapshot:
        """`pending`: messages received and not yet acknowledged. With `stall_after_s`, the
        snapshot says whether they have waited that long without any commit."""
        rate = self.rate()
        stalled = (
            stall_after_s is not None
            and pending > 0
            and time.monotonic() - self._progress > stall_after_s
        )
        with self._lock:
            return StatsSnapshot(
                started_ms=self.started_ms,
                messages_received=self.messages,
                readings_stored=self.stored,
                readings_duplicate=self.duplicates,
                rejected_total=sum(self.rejected.values()),
                rejected_by_reason=dict(self.rejected),
                readings_per_second=round(rate, 1),
                pending_messages=pending,
                broker_connected=connected,
                last_commit_ms=self.last_commit_ms,
                throttled_devices=self._recently_throttled(),
                stalled=stalled,
                writer_restarts=self.writer_restarts,
                by_source={
                    name: SourceStats(**msgspec.structs.asdict(counts))
                    for name, counts in self._sources.items()
                },
                rejected_repeats=self.repeats,
            )
