"""The writer: batches messages, commits their readings, then acknowledges them to the broker.

Acknowledging only after the commit is what makes a crash lose nothing: whatever was not
acknowledged, the broker delivers again. A store that fails is retried, never skipped.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence

from village_brain.core.records import Reading
from village_brain.ingest.pipeline import InboundMessage, Outcome, Pipeline
from village_brain.ingest.stats import IngestStats
from village_brain.store.base import SeriesStore
from village_brain.store.registry import BatchRecord, RegistryStore

log = logging.getLogger(__name__)

Ack = Callable[[int, int, int], None]
Listener = Callable[[Sequence[Reading], BatchRecord], None]


class BatchWriter:
    def __init__(
        self,
        pipeline: Pipeline,
        series: SeriesStore,
        registry: RegistryStore,
        stats: IngestStats,
        ack: Ack,
        max_messages: int = 500,
        max_wait_s: float = 0.02,
    ) -> None:
        self.pipeline = pipeline
        self.series = series
        self.registry = registry
        self.stats = stats
        self.ack = ack
        self.max_messages = max_messages
        self.max_wait_s = max_wait_s
        self.inbox: queue.SimpleQueue[InboundMessage] = queue.SimpleQueue()
        self.listeners: list[Listener] = []
        self._chores: list[list] = []  # [interval_s, next_due, chore]

    def every(self, interval_s: float, chore: Callable[[], None]) -> None:
        """Run `chore` in this thread between batches: the store has one writer, this one."""
        self._chores.append([interval_s, 0.0, chore])

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            batch = self._take_batch()
            if batch:
                self._commit_until_done(batch, stop)
            self._run_chores()
        # Drain what already arrived so a clean stop acknowledges all it can.
        leftover = self._take_batch(wait_first=False)
        if leftover:
            self._commit_until_done(leftover, stop)

    def _take_batch(self, wait_first: bool = True) -> list[InboundMessage]:
        try:
            first = self.inbox.get(timeout=0.2) if wait_first else self.inbox.get_nowait()
        except queue.Empty:
            return []
        batch = [first]
        deadline = time.monotonic() + self.max_wait_s
        while len(batch) < self.max_messages:
            remaining = deadline - time.monotonic()
            try:
                batch.append(
                    self.inbox.get(timeout=remaining) if remaining > 0 else self.inbox.get_nowait()
                )
            except queue.Empty:
                break
        return batch

    def _commit_until_done(self, batch: list[InboundMessage], stop: threading.Event) -> None:
        outcomes = [self.pipeline.process(msg) for msg in batch]
        readings = [r for o in outcomes for r in o.readings]
        record = _registry_changes(outcomes)
        delay = 0.5
        while True:
            try:
                stored = self.series.write(readings)
                self.registry.commit(record)
                break
            except Exception:  # a store outage must not drop the batch: keep it and retry
                log.exception(
                    "store write failed; retrying in %.1f s (nothing acknowledged)", delay
                )
                if stop.wait(delay):
                    return
                delay = min(delay * 2, 30.0)
        for msg in batch:
            self.ack(msg.mid, msg.qos, msg.generation)
        self.stats.record_batch(
            len(batch), len(readings), stored, [r.reason for r in record.rejections]
        )
        for listener in self.listeners:
            try:
                listener(readings, record)
            except Exception:
                log.exception("a listener failed on a committed batch")

    def _run_chores(self) -> None:
        now = time.monotonic()
        for entry in self._chores:
            interval_s, due, chore = entry
            if now < due:
                continue
            entry[1] = now + interval_s
            try:
                chore()
            except Exception:
                log.exception("maintenance task failed")


def _registry_changes(outcomes: list[Outcome]) -> BatchRecord:
    record = BatchRecord()
    for outcome in outcomes:
        if outcome.new_device is not None:
            record.new_devices.append(outcome.new_device)
        if outcome.seen is not None:
            device, ms = outcome.seen
            record.seen[device] = max(ms, record.seen.get(device, 0))
        if outcome.status is not None:
            device, status, ms = outcome.status
            record.statuses[device] = (status, ms)
        if outcome.event is not None:
            record.events.append(outcome.event)
        record.rejections.extend(outcome.rejections)
    return record
