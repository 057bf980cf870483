"""How many logins may be under way at once; the rest are told to come back in a moment.

A login holds one of the server's threads while it waits for one of the few Argon2 turns
(hashing.CHECKS_AT_ONCE). Unbounded, a flood of logins would hold every thread, and every
other request would wait behind it; refused at once, a login costs nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

LOGINS_AT_ONCE = 8


class LoginBusy(Exception):
    retry_after_s = 1

    def __init__(self) -> None:
        super().__init__(f"too many logins at once; try again in {self.retry_after_s} s")


class LoginQueue:
    def __init__(self, size: int = LOGINS_AT_ONCE) -> None:
        self._places = threading.BoundedSemaphore(size)

    @contextmanager
    def place(self) -> Iterator[None]:
        """Hold a place for one login, or raise LoginBusy when all are taken."""
        if not self._places.acquire(blocking=False):
            raise LoginBusy()
        try:
            yield
        finally:
            self._places.release()
