"""Failed logins, counted per account and per client address over a sliding window.

Once either count reaches its limit, every login for that account or from that address is
refused, even with the right password, until the oldest counted failure leaves the window:
otherwise a guesser would learn the password from the one attempt that is not refused.

An attempt is counted as a failure when it is let through, before its password is checked,
and taken back if the password was right. So however many guesses arrive at once, no more
than the limit are checked: counted only afterwards, they would all pass the check together.

Names are whatever a visitor types, so the counts kept are bounded: past TRACKED_AT_MOST
accounts and addresses, the ones whose last failure is oldest are forgotten first.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass

TRACKED_AT_MOST = 10_000

_Key = tuple[str, str]


class LoginThrottled(Exception):
    def __init__(self, retry_after_s: int) -> None:
        super().__init__(f"too many failed logins; try again in {retry_after_s} s")
        self.retry_after_s = retry_after_s


@dataclass(frozen=True)
class Attempt:
    """A login let through, counted in advance as a failure of its account and its address."""

    account: _Key
    address: _Key
    at: float


class LoginThrottle:
    def __init__(
        self,
        window_s: float,
        per_account: int,
        per_address: int,
        clock: Callable[[], float] = time.monotonic,
        tracked_at_most: int = TRACKED_AT_MOST,
    ) -> None:
        self.window_s = window_s
        self._limits = {"account": per_account, "address": per_address}
        self._clock = clock
        self._tracked_at_most = tracked_at_most
        # Least recently failed first, so the stalest counts are the ones forgotten.
        self._failures: OrderedDict[_Key, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def attempt(self, account: str, address: str) -> Attempt:
        """Let one login through and count it as failed; LoginThrottled if either count is full."""
        keys = _keys(account, address)
        now = self._clock()
        with self._lock:
            wait = max(self._wait(key, now) for key in keys)
            if wait:
                raise LoginThrottled(wait)
            for key in keys:
                self._count(key, now)
        return Attempt(*keys, now)

    def succeeded(self, attempt: Attempt) -> None:
        """The account's count starts afresh; the address keeps its earlier failures, or one
        account of one's own would reset the count for guessing at everyone else's."""
        with self._lock:
            self._failures.pop(attempt.account, None)
            failures = self._failures.get(attempt.address)
            if failures is not None and attempt.at in failures:
                failures.remove(attempt.at)

    def tracked(self) -> int:
        """How many accounts and addresses have failures counted."""
        with self._lock:
            return len(self._failures)

    def _wait(self, key: _Key, now: float) -> int:
        failures = self._failures.get(key)
        if not failures:
            return 0
        while failures and failures[0] <= now - self.window_s:
            failures.popleft()
        if len(failures) < self._limits[key[0]]:
            return 0
        return max(1, math.ceil(failures[0] + self.window_s - now))

    def _count(self, key: _Key, now: float) -> None:
        failures = self._failures.get(key)
        if failures is None:
            self._make_room(now)
            failures = self._failures[key] = deque(maxlen=self._limits[key[0]])
        else:
            self._failures.move_to_end(key)
        failures.append(now)

    def _make_room(self, now: float) -> None:
        cutoff = now - self.window_s
        while self._failures:
            key, failures = next(iter(self._failures.items()))
            expired = not failures or failures[-1] <= cutoff
            if not expired and len(self._failures) < self._tracked_at_most:
                return
            del self._failures[key]


def _keys(account: str, address: str) -> tuple[_Key, _Key]:
    return ("account", account.casefold()), ("address", address)
