"""Delivery from the outbox: worker threads, retries with backoff and jitter, give-up limit.

The ingest path only writes outbox rows and wakes this; sending happens here. Each webhook
has its own queue in the outbox and at most one message in flight: a row is claimed in the
database before it is sent, so it is sent once, and a slow or dead receiver holds one worker
at most and never delays the others' messages or retries.

A message may carry several rows of one channel: those of one group that are due together,
and, when the channel's rate limit is nearly used up, every row that is due. So a burst of
alerts becomes fewer, fuller messages and the robot never mutes us; nothing is dropped.
"""

from __future__ import annotations

import json
import logging
import random
import sqlite3
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import msgspec

from village_brain.alerts.notifiers import NOTIFIERS
from village_brain.alerts.policy import ESCALATION, SEVERITY_RANK, Policy
from village_brain.alerts.records import Alert, AttemptResult, Delivery, Webhook
from village_brain.alerts.sender import attempt_batch
from village_brain.alerts.store import AlertStore, Merge
from village_brain.alerts.transport import delivery_client
from village_brain.core.timefmt import now_ms

log = logging.getLogger(__name__)
IDLE_WAIT_S = 1.0
# A floor under the wait for the next due row, so a clock step cannot make the loop spin.
MIN_WAIT_S = 0.02
MINUTE_MS = 60_000


class RetryPolicy(msgspec.Struct, frozen=True):
    timeout_s: float = 5.0
    first_retry_ms: int = 10_000
    max_retry_ms: int = 3_600_000
    max_attempts: int = 15
    workers: int = 4
    allow_private: bool = False


def retry_delay_ms(attempts_made: int, policy: RetryPolicy, rng: random.Random) -> int:
    """Exponential backoff with equal jitter: half the step fixed, half random."""
    step = min(policy.max_retry_ms, policy.first_retry_ms * 2 ** (attempts_made - 1))
    return step // 2 + round(rng.uniform(0, step / 2))


def next_attempt_ms(
    attempts_made: int, at_ms: int, policy: RetryPolicy, rng: random.Random
) -> int | None:
    """When to try again after a failure; None once the limit is reached."""
    if attempts_made >= policy.max_attempts:
        return None
    return at_ms + retry_delay_ms(attempts_made, policy, rng)


class RateWindow:
    """The messages sent to one channel in the last minute, and the last one's time (for a
    channel that also wants a gap between messages, like Feishu's 5 a second)."""

    def __init__(self, per_minute: int, sent: list[int], min_gap_ms: int = 0) -> None:
        self.per_minute = per_minute
        self.min_gap_ms = min_gap_ms
        self.sent: deque[int] = deque(sent[-per_minute:] if per_minute else ())
        self.last_ms = sent[-1] if sent else None

    def left(self, now_ms: int) -> int | None:
        """Messages still allowed now; None: no limit."""
        if self.last_ms is not None and now_ms - self.last_ms < self.min_gap_ms:
            return 0
        if not self.per_minute:
            return None
        while self.sent and self.sent[0] <= now_ms - MINUTE_MS:
            self.sent.popleft()
        return self.per_minute - len(self.sent)

    def free_at(self, now_ms: int) -> int:
        """When a message may go again."""
        at = now_ms
        if self.last_ms is not None:
            at = max(at, self.last_ms + self.min_gap_ms)
        if self.per_minute and len(self.sent) >= self.per_minute:
            at = max(at, self.sent[0] + MINUTE_MS)
        return at

    def note(self, at_ms: int) -> None:
        self.last_ms = at_ms
        if self.per_minute:
            self.sent.append(at_ms)


class Outcome(msgspec.Struct, frozen=True):
    """An attempt whose result is yet to be written to the outbox."""

    delivery_id: int | list[int]
    result: AttemptResult
    at_ms: int
    retry_at_ms: int | None


class Dispatcher:
    def __init__(
        self,
        store: AlertStore,
        webhook: Callable[[str], Webhook | None],
        policy: RetryPolicy,
        clock: Callable[[], int] = now_ms,
        notify: Policy | None = None,
    ) -> None:
        self.store = store
        self.webhook = webhook
        self.policy = policy
        self.clock = clock
        self.notify = notify or Policy()
        self._windows: dict[str, RateWindow] = {}
        # When the loop found only rows of channels at their rate limit: the earliest time
        # one of them may send again (so it sleeps until then, not polls).
        self._blocked_until: int | None = None
        self._rng = random.Random()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._in_flight = 0
        self._unrecorded: list[Outcome] = []
        self._client = delivery_client(policy.timeout_s, policy.allow_private)
        # For channels an admin let call private addresses; every other channel's
        # connections are still checked.
        self._private_client = delivery_client(policy.timeout_s, True)
        self._pool = ThreadPoolExecutor(policy.workers, thread_name_prefix="alert-delivery")
        self._thread = threading.Thread(target=self._run, name="alert-outbox", daemon=True)

    def start(self) -> None:
        released = self.store.release_claims()
        if released:
            log.info("sending again %d messages whose attempt a stop interrupted", released)
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        # Attempts in flight finish (bounded by the timeout); unsent rows stay in the outbox.
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._record_outcomes()
        self._client.close()
        self._private_client.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            # Cleared before looking, so a wake-up while we look is never lost.
            self._wake.clear()
            try:
                self._record_outcomes()
                self._submit_due()
            except Exception:
                log.exception("reading the outbox failed")
            self._wake.wait(self._idle_s())

    def _submit_due(self) -> None:
        with self._lock:
            free = self.policy.workers - self._in_flight
        if free <= 0:
            return
        now = self.clock()
        self._blocked_until = None
        open_alerts = self.store.open_alerts()
        by_id = {a.id: a for a in open_alerts}
        batches = self.store.claim_batches(
            now,
            free,
            lambda head: self._merge(head, now),
            lambda row, conn: self._skip_reason(row, conn, open_alerts, by_id),
        )
        if batches:
            self._blocked_until = None
        for batch in batches:
            with self._lock:
                self._in_flight += 1
            self._pool.submit(self._deliver, batch)

    def _merge(self, head: Delivery, now: int) -> Merge | None:
        """How much one message to the head's channel may carry now; None: wait for the
        channel's rate limit."""
        webhook = self.webhook(head.webhook_id)
        notifier = NOTIFIERS.get(webhook.kind) if webhook else None
        if webhook is None or notifier is None:
            return Merge()
        window = self._window(webhook)
        left = window.left(now)
        if left is not None and left <= 0:
            free = window.free_at(now)
            self._blocked_until = min(self._blocked_until or free, free)
            return None
        # The last message this minute takes everything that is due.
        return Merge(notifier.max_per_message, any_group=left is not None and left <= 1)

    def _window(self, webhook: Webhook) -> RateWindow:
        with self._lock:
            window = self._windows.get(webhook.id)
        if window is not None:
            return window
        notifier = NOTIFIERS.get(webhook.kind)
        limit = self.notify.rate_per_minute.get(
            webhook.kind, notifier.rate_per_minute if notifier else 0
        )
        gap = notifier.min_gap_ms if notifier else 0
        sent = self.store.posts_since(webhook.id, self.clock() - MINUTE_MS) if limit else []
        with self._lock:
            return self._windows.setdefault(webhook.id, RateWindow(limit, sent, gap))

    def _idle_s(self) -> float:
        # With every worker busy, the next one to finish wakes the loop.
        with self._lock:
            busy = self._in_flight >= self.policy.workers
        due = None if busy else self.store.next_due_ms()
        if due is None:
            return IDLE_WAIT_S
        if self._blocked_until is not None and due <= self.clock():
            due = self._blocked_until
        return min(IDLE_WAIT_S, max(MIN_WAIT_S, (due - self.clock()) / 1000))

    def _deliver(self, batch: list[Delivery]) -> None:
        head = batch[0]
        try:
            outcome = self._send(self.webhook(head.webhook_id), batch)
        except Exception:
            log.exception("delivery %d failed unexpectedly", head.id)
            failed = AttemptResult(False, error="an unexpected error; see the server log")
            ids = [d.id for d in batch]
            outcome = Outcome(ids, failed, self.clock(), self._retry_at(head, failed))
        try:
            self._record(outcome)
        finally:
            with self._lock:
                self._in_flight -= 1
            self._wake.set()

    def _send(self, webhook: Webhook | None, batch: list[Delivery]) -> Outcome:
        head = batch[0]
        started = self.clock()
        if webhook is None:
            result = AttemptResult(False, error="the webhook was deleted")
        else:
            mention = self.notify.mentions_for(webhook, _most_severe(batch))
            language = self.notify.language
            client = self._private_client if webhook.allow_private else self._client
            result = attempt_batch(client, webhook, batch, started, mention, language)
            self._window(webhook).note(started)
        retry_at = None if webhook is None else self._retry_at(head, result)
        if not result.ok:
            log.info("delivery %d to %s failed: %s", head.id, head.webhook_id, result.error)
        return Outcome([d.id for d in batch], result, self.clock(), retry_at)

    def _skip_reason(
        self,
        row: Delivery,
        conn: sqlite3.Connection,
        open_alerts: list[Alert],
        by_id: dict[int, Alert],
    ) -> str | None:
        """Why a due row is not to be sent after all: kept quiet by a more severe alert, an
        escalation of an alert someone took on, or the resolution of a firing this channel
        never heard of; None: send it."""
        data = json.loads(row.body).get("data", {})
        if row.delivery_key.endswith(ESCALATION):
            alert = by_id.get(row.alert_id)
            if alert is None or alert.state != "firing":
                return "not escalated: the alert was acknowledged or resolved in time"
            return None
        if row.event_type == "alert.resolved":
            if self.store.firing_skipped(row.alert_id, row.webhook_id, conn):
                return "not sent: the channel was never told of the firing"
            return None
        if row.event_type == "alert.firing":
            other = self.notify.inhibitor(data, open_alerts)
            if other is not None:
                return f"inhibited by alert {other.id} ({other.rule_name})"
        return None

    def _record(self, outcome: Outcome) -> None:
        try:
            self.store.record_attempt(
                outcome.delivery_id, outcome.result, outcome.at_ms, outcome.retry_at_ms
            )
        except Exception:
            # The row stays claimed, so it is not sent again meanwhile; the loop writes the
            # outcome once the database takes writes again.
            log.exception("could not record the attempt of delivery %s", outcome.delivery_id)
            with self._lock:
                self._unrecorded.append(outcome)

    def _record_outcomes(self) -> None:
        with self._lock:
            waiting, self._unrecorded = self._unrecorded, []
        for index, outcome in enumerate(waiting):
            try:
                self.store.record_attempt(
                    outcome.delivery_id, outcome.result, outcome.at_ms, outcome.retry_at_ms
                )
            except Exception:
                with self._lock:
                    self._unrecorded[:0] = waiting[index:]
                return

    def _retry_at(self, delivery: Delivery, result: AttemptResult) -> int | None:
        if result.ok:
            return None
        return next_attempt_ms(delivery.attempts + 1, self.clock(), self.policy, self._rng)


def _most_severe(batch: list[Delivery]) -> str:
    """The severity whose mentions a message carrying `batch` makes."""
    severities = [json.loads(d.body).get("data", {}).get("severity", "") for d in batch]
    return min(severities, key=lambda s: SEVERITY_RANK.get(s, len(SEVERITY_RANK)))
