"""Failed logins, counted per account and per client address over a sliding window.

Once either count reaches its limit, every login for that account or from that address is
refused, even with the right password, until the oldest counted failure leaves the window:
otherwise a guesser would learn the password from the one attempt that is not refused.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable

# Keys whose failures have all expired are dropped once this many are tracked.
_SWEEP_AT = 10_000


class LoginThrottle:
    def __init__(
        self,
        window_s: float,
        per_account: int,
        per_address: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.window_s = window_s
        self._limits = {"account": per_account, "address": per_address}
        self._clock = clock
        self._failures: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def wait_s(self, account: str, address: str) -> int:
        """Seconds until a login for this account from this address may be tried; 0: now."""
        now = self._clock()
        with self._lock:
            waits = [self._wait(key, now) for key in _keys(account, address)]
        return max(waits)

    def failed(self, account: str, address: str) -> None:
        now = self._clock()
        with self._lock:
            if len(self._failures) >= _SWEEP_AT:
                self._sweep(now)
            for key in _keys(account, address):
                self._failures.setdefault(key, deque()).append(now)

    def succeeded(self, account: str) -> None:
        """The account's count starts afresh; the address's does not, or one account of one's own
        would reset the count for guessing at everyone else's."""
        with self._lock:
            self._failures.pop(("account", account.casefold()), None)

    def _wait(self, key: tuple[str, str], now: float) -> int:
        failures = self._failures.get(key)
        if not failures:
            return 0
        while failures and failures[0] <= now - self.window_s:
            failures.popleft()
        if len(failures) < self._limits[key[0]]:
            return 0
        return max(1, math.ceil(failures[0] + self.window_s - now))

    def _sweep(self, now: float) -> None:
        cutoff = now - self.window_s
        self._failures = {k: v for k, v in self._failures.items() if v and v[-1] > cutoff}


def _keys(account: str, address: str) -> tuple[tuple[str, str], tuple[str, str]]:
    return ("account", account.casefold()), ("address", address)
