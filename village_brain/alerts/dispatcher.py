"""Delivery from the outbox: worker threads, retries with backoff and jitter, give-up limit.

The ingest path only writes outbox rows and wakes this; sending happens here. Each webhook
has its own queue in the outbox and at most one message in flight: a row is claimed in the
database before it is sent, so it is sent once, and a slow or dead receiver holds one worker
at most and never delays the others' messages or retries.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import msgspec

from village_brain.alerts.records import AttemptResult, Delivery, Webhook
from village_brain.alerts.sender import attempt
from village_brain.alerts.store import AlertStore
from village_brain.alerts.transport import delivery_client
from village_brain.core.timefmt import now_ms

log = logging.getLogger(__name__)
IDLE_WAIT_S = 1.0
# A floor under the wait for the next due row, so a clock step cannot make the loop spin.
MIN_WAIT_S = 0.02


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


class Outcome(msgspec.Struct, frozen=True):
    """An attempt whose result is yet to be written to the outbox."""

    delivery_id: int
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
    ) -> None:
        self.store = store
        self.webhook = webhook
        self.policy = policy
        self.clock = clock
        self._rng = random.Random()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._in_flight = 0
        self._unrecorded: list[Outcome] = []
        self._client = delivery_client(policy.timeout_s, policy.allow_private)
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
        for delivery in self.store.claim_due(self.clock(), free):
            with self._lock:
                self._in_flight += 1
            self._pool.submit(self._deliver, delivery)

    def _idle_s(self) -> float:
        # With every worker busy, the next one to finish wakes the loop.
        with self._lock:
            busy = self._in_flight >= self.policy.workers
        due = None if busy else self.store.next_due_ms()
        if due is None:
            return IDLE_WAIT_S
        return min(IDLE_WAIT_S, max(MIN_WAIT_S, (due - self.clock()) / 1000))

    def _deliver(self, delivery: Delivery) -> None:
        try:
            webhook = self.webhook(delivery.webhook_id)
            started = self.clock()
            if webhook is None:
                result = AttemptResult(False, error="the webhook was deleted")
            else:
                result = attempt(self._client, webhook, delivery, started)
            retry_at = None if webhook is None else self._retry_at(delivery, result)
            if not result.ok:
                log.info(
                    "delivery %d to %s failed: %s", delivery.id, delivery.webhook_id, result.error
                )
            outcome = Outcome(delivery.id, result, self.clock(), retry_at)
        except Exception:
            log.exception("delivery %d failed unexpectedly", delivery.id)
            failed = AttemptResult(False, error="an unexpected error; see the server log")
            outcome = Outcome(delivery.id, failed, self.clock(), self._retry_at(delivery, failed))
        try:
            self._record(outcome)
        finally:
            with self._lock:
                self._in_flight -= 1
            self._wake.set()

    def _record(self, outcome: Outcome) -> None:
        try:
            self.store.record_attempt(
                outcome.delivery_id, outcome.result, outcome.at_ms, outcome.retry_at_ms
            )
        except Exception:
            # The row stays claimed, so it is not sent again meanwhile; the loop writes the
            # outcome once the database takes writes again.
            log.exception("could not record the attempt of delivery %d", outcome.delivery_id)
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
