"""The writer: batches messages, commits their readings, then acknowledges them to the broker.

Acknowledging only after the commit is what makes a crash lose nothing: whatever was not
acknowledged, the broker delivers again. A store that is down is retried, never skipped. A
message the store refuses for its own content is not retried with it: the batch is then
committed in halves until only the message at fault is left, which is refused
(`internal_error`) and acknowledged, so it cannot hold up the rest. Should anything still
escape the loop, the loop restarts (see docs/ingest.md). A retained message the broker sends
again after it was refused is counted as a repeat, not logged again (see retained.py).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence

import msgspec

from village_brain.core.records import Reading
from village_brain.ingest.pipeline import InboundMessage, Outcome, Pipeline
from village_brain.ingest.retained import RetainedRefusals, retained_key
from village_brain.ingest.sources.base import Reply
from village_brain.ingest.stats import IngestStats, SourceTally
from village_brain.store.base import SeriesStore, is_outage
from village_brain.store.registry import BatchRecord, RegistryStore

log = logging.getLogger(__name__)

Ack = Callable[[Sequence[InboundMessage]], None]  # acknowledges committed messages
Publish = Callable[[Reply], None]
Subscribe = Callable[[list[str]], None]
Listener = Callable[[Sequence[Reading], BatchRecord], None]

RETRY_FIRST_S = 0.5
RETRY_MAX_S = 30.0
RESTART_FIRST_S = 0.1
RESTART_MAX_S = 30.0


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
        publish: Publish | None = None,
        subscribe: Subscribe | None = None,
        retained: RetainedRefusals | None = None,
    ) -> None:
        self.pipeline = pipeline
        self.series = series
        self.registry = registry
        self.stats = stats
        self.ack = ack
        self.publish = publish
        self.subscribe = subscribe
        self.max_messages = max_messages
        self.max_wait_s = max_wait_s
        self.retained = retained if retained is not None else RetainedRefusals()
        self.inbox: queue.SimpleQueue[InboundMessage] = queue.SimpleQueue()
        self.listeners: list[Listener] = []
        # Work that must be done before the broker forgets the batch (publishing it on to
        # evaluation partitions): one that raises keeps the batch unacknowledged, and the
        # loop restarts with it, so it comes again.
        self.before_ack: list[Listener] = []
        self._chores: list[list] = []  # [interval_s, next_due, chore]
        # Taken from the inbox and not yet acknowledged, oldest first: what a restart resumes.
        self._in_hand: deque[InboundMessage] = deque()
        self._committed_since_restart = True

    def every(self, interval_s: float, chore: Callable[[], None]) -> None:
        """Run `chore` in this thread between batches: the store has one writer, this one."""
        self._chores.append([interval_s, 0.0, chore])

    def waiting(self) -> int:
        """Messages received and not yet acknowledged."""
        return self.inbox.qsize() + len(self._in_hand)

    def run(self, stop: threading.Event) -> None:
        """Write until `stop` is set; an exception escaping the loop restarts it."""
        delay = RESTART_FIRST_S
        while True:
            try:
                self._work(stop)
                return
            except Exception:
                # Restarting beats dying: a dead writer stops all ingest, silently.
                delay = RESTART_FIRST_S if self._committed_since_restart else delay
                self._committed_since_restart = False
                self.stats.note_restart()
                log.critical(
                    "the ingest writer failed with %d messages in hand; restarting it in %.1f s",
                    len(self._in_hand),
                    delay,
                    exc_info=True,
                )
                if stop.wait(delay):
                    return
                delay = min(delay * 2, RESTART_MAX_S)

    def _work(self, stop: threading.Event) -> None:
        if self._in_hand:
            # What the failed loop held, one message at a time: one that fails again is
            # refused alone, and the broker's redelivery is not needed.
            for msg in list(self._in_hand):
                if not self._commit([msg], [self._process(msg, set())], stop):
                    return
        while not stop.is_set():
            batch = self._take_batch()
            if not batch:
                self.stats.note_idle()
            elif not self._handle(batch, stop):
                return  # stopped while the store was down
            self._run_chores()
        # Drain what already arrived so a clean stop acknowledges all it can.
        leftover = self._take_batch(wait_first=False)
        if leftover:
            self._handle(leftover, stop)

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

    def _handle(self, batch: list[InboundMessage], stop: threading.Event) -> bool:
        self._in_hand.extend(batch)
        claimed: set[str] = set()  # a retained message may come twice in one batch
        return self._commit(batch, [self._process(msg, claimed) for msg in batch], stop)

    def _process(self, msg: InboundMessage, claimed: set[str]) -> Outcome:
        return self._unless_repeated(msg, self.pipeline.process(msg), claimed)

    def _unless_repeated(self, msg: InboundMessage, outcome: Outcome, claimed: set[str]) -> Outcome:
        """A refused retained message with its key on its rejections; or, when its refusal is
        already logged, without them: the broker's replay says nothing new of the device, so
        it is no sign of life either. Readings in it were stored the first time."""
        if not (msg.retain and outcome.rejections):
            return outcome
        key = retained_key(msg)
        if self.retained.is_known(key) or key in claimed:
            return msgspec.structs.replace(outcome, rejections=[], seen=[], repeated=True)
        claimed.add(key)
        outcome.rejections = [
            msgspec.structs.replace(r, retained_key=key) for r in outcome.rejections
        ]
        return outcome

    def _commit(
        self, batch: list[InboundMessage], outcomes: list[Outcome], stop: threading.Event
    ) -> bool:
        """Store, then acknowledge; False when stopped while the store was down."""
        readings = [r for o in outcomes for r in o.readings]
        record = _registry_changes(batch, outcomes)
        delay = RETRY_FIRST_S
        while True:
            try:
                stored = self._write(readings, record)
            except Exception as exc:
                if not is_outage(exc):
                    if len(batch) > 1:
                        log.warning(
                            "a batch of %d messages could not be stored (%s); storing it in "
                            "halves to find the message at fault",
                            len(batch),
                            _named(exc),
                        )
                        # Halves, not one by one: a poison message costs a few commits, not
                        # one per message. What the failed attempt wrote, the dedupe rule
                        # absorbs; the earlier half goes first, so acks stay in order.
                        half = len(batch) // 2
                        return self._commit(batch[:half], outcomes[:half], stop) and (
                            self._commit(batch[half:], outcomes[half:], stop)
                        )
                    refused = self._refuse(batch[0], outcomes[0], exc)
                    if refused is not None:
                        record, refusal = refused
                        repeats = int(refusal.repeated)
                        self._finish(batch, [], 0, record, repeats, [], [refusal])
                        return True
                # A store outage must not drop the batch: keep it and retry.
                log.exception(
                    "store write failed; retrying in %.1f s (nothing acknowledged)", delay
                )
                if stop.wait(delay):
                    return False
                delay = min(delay * 2, RETRY_MAX_S)
                continue
            repeats = sum(o.repeated for o in outcomes)
            self._finish(batch, readings, stored, record, repeats, outcomes)
            return True

    def _write(self, readings: list[Reading], record: BatchRecord) -> int:
        stored = self.series.write(readings)
        self.registry.commit(record)
        return stored

    def _refuse(
        self, msg: InboundMessage, outcome: Outcome, exc: Exception
    ) -> tuple[BatchRecord, Outcome] | None:
        """Store the message as refused for `exc`: what was stored and what the message became;
        None if even that fails.

        A plain rejection is always storable, so when it fails too, the store is at fault
        (down, with an error of a kind not known to mean so), and the message is kept.
        """
        refusal = self._unless_repeated(
            msg, self.pipeline.refusal(msg, exc, outcome.new_devices), set()
        )
        record = _registry_changes([msg], [refusal])
        try:
            self._write([], record)
        except Exception:
            return None
        log.error(
            "a message to %s could not be stored (%s); it was refused as internal_error",
            msg.topic[:256],
            _named(exc),
        )
        return record, refusal

    def _finish(
        self,
        batch: list[InboundMessage],
        readings: list[Reading],
        stored: int,
        record: BatchRecord,
        repeats: int,
        outcomes: list[Outcome],
        answers: list[Outcome] | None = None,  # what each message became, when not `outcomes`
    ) -> None:
        # Remembered once logged, not before: a refusal whose commit failed is logged when the
        # message comes again; and before the acks, which a restart of the loop may repeat.
        self.retained.remember(r.retained_key for r in record.rejections if r.retained_key)
        # Before the acks, so that a message counts as done only once what it asked for is.
        self._after_commit(outcomes)
        for work in self.before_ack:
            work(readings, record)
        # One call for the batch: the receiver sends all its acks in one write.
        self.ack([msg for msg in batch if msg.done is None])
        posted = any(msg.done is not None for msg in batch)
        for _ in batch:
            self._in_hand.popleft()  # the batch is always the oldest of the messages in hand
        self._committed_since_restart = True
        self.stats.record_batch(
            len(batch), len(readings), stored, [r.reason for r in record.rejections], repeats
        )
        self.stats.record_sources(
            SourceTally(o.source, len(o.rejections), o.quiet, o.skipped) for o in outcomes
        )
        if posted:  # after the counts, so that what a poster reads next includes its own
            for msg, outcome in zip(batch, outcomes if answers is None else answers, strict=True):
                if msg.done is not None:
                    _answer(msg, outcome)
        for listener in self.listeners:
            try:
                listener(readings, record)
            except Exception:
                log.exception("a listener failed on a committed batch")

    def _after_commit(self, outcomes: list[Outcome]) -> None:
        """Answers the device families expect, and the topics sources learnt: only now that
        what they answer is committed (an Alink device takes its reply as a receipt)."""
        for outcome in outcomes:
            if self.publish is not None:
                for reply in outcome.replies:
                    try:
                        self.publish(reply)
                    except Exception:
                        log.exception("could not send a reply to %s", reply.topic[:256])
            if outcome.subscribe and self.subscribe is not None:
                self.subscribe(outcome.subscribe)

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


def _named(exc: BaseException) -> str:
    try:
        return f"{type(exc).__name__}: {str(exc)[:200]}"
    except Exception:  # an exception may fail even to describe itself
        return type(exc).__name__


def _answer(msg: InboundMessage, outcome: Outcome) -> None:
    """Tell the HTTP request that posted `msg` what became of it, now that it is committed."""
    assert msg.done is not None
    try:
        msg.done(outcome)
    except Exception:
        log.exception("could not answer the HTTP request that posted to %s", msg.topic[:256])


def _registry_changes(batch: list[InboundMessage], outcomes: list[Outcome]) -> BatchRecord:
    record = BatchRecord()
    for msg, outcome in zip(batch, outcomes, strict=True):
        record.new_devices.extend(outcome.new_devices)
        for device, ms in outcome.seen:
            record.seen[device] = max(ms, record.seen.get(device, 0))
        if not outcome.repeated:
            kept = {r.device for r in outcome.readings} | {e.device for e in outcome.events}
            for device in kept:
                record.stored[device] = max(msg.received_ms, record.stored.get(device, 0))
        for device, status, ms in outcome.statuses:
            record.statuses[device] = (status, ms)
        record.events.extend(outcome.events)
        record.rejections.extend(outcome.rejections)
    return record
