"""Delivery from the outbox: worker threads, retries with backoff and jitter, give-up limit.

The ingest path only writes outbox rows and wakes this; sending happens here. One message
per webhook is in flight at a time, so a slow or dead receiver holds one worker at most and
never delays the others.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx
import msgspec

from village_brain.alerts.records import AttemptResult, Delivery, Webhook
from village_brain.alerts.sender import attempt
from village_brain.alerts.store import AlertStore
from village_brain.core.timefmt import now_ms

log = logging.getLogger(__name__)
IDLE_WAIT_S = 1.0
# Rows that are due but whose webhook is busy would otherwise make the loop spin.
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
        self._busy: set[str] = set()
        self._busy_lock = threading.Lock()
        self._client = httpx.Client(
            timeout=policy.timeout_s, follow_redirects=False, trust_env=False
        )
        self._pool = ThreadPoolExecutor(policy.workers, thread_name_prefix="alert-delivery")
        self._thread = threading.Thread(target=self._run, name="alert-outbox", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        # Attempts in flight finish (bounded by the timeout); unsent ones stay in the outbox.
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._client.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._submit_due()
            except Exception:
                log.exception("reading the outbox failed")
            self._wake.wait(self._idle_s())
            self._wake.clear()

    def _submit_due(self) -> None:
        for delivery in self.store.due(self.clock(), limit=500):
            with self._busy_lock:
                if delivery.webhook_id in self._busy:
                    continue
                self._busy.add(delivery.webhook_id)
            self._pool.submit(self._deliver, delivery)

    def _idle_s(self) -> float:
        due = self.store.next_due_ms()
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
                result = attempt(
                    self._client, webhook, delivery, started, self.policy.allow_private
                )
            retry_at = None if webhook is None else self._retry_at(delivery, result)
            self.store.record_attempt(delivery.id, result, self.clock(), retry_at)
            if not result.ok:
                log.info(
                    "delivery %d to %s failed: %s", delivery.id, delivery.webhook_id, result.error
                )
        except Exception:
            log.exception("delivery %d failed unexpectedly", delivery.id)
        finally:
            with self._busy_lock:
                self._busy.discard(delivery.webhook_id)
            self._wake.set()

    def _retry_at(self, delivery: Delivery, result: AttemptResult) -> int | None:
        if result.ok:
            return None
        return next_attempt_ms(delivery.attempts + 1, self.clock(), self.policy, self._rng)
