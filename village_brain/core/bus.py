"""An in-process notice board: stages announce what happened, others listen.

Ingest announces committed readings and presence changes; alerts announce alert changes;
the dashboard's live feed listens to all of it. Listeners run on the announcer's thread,
so they must be quick (hand work to a queue of their own).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

Listener = Callable[[str, dict[str, Any]], None]
# Whether a listener wants announcements of a kind now: an announcer whose kind nobody wants
# skips building the payload (the committed readings' was a tenth of the writer's time).
Wanted = Callable[[str], bool]


def _everything(_kind: str) -> bool:
    return True


class Bus:
    def __init__(self) -> None:
        self._listeners: list[tuple[Listener, Wanted]] = []
        self._lock = threading.Lock()

    def subscribe(self, listener: Listener, wanted: Wanted = _everything) -> Callable[[], None]:
        """Add a listener; call the returned function to remove it."""
        entry = (listener, wanted)
        with self._lock:
            self._listeners = [*self._listeners, entry]

        def unsubscribe() -> None:
            with self._lock:
                self._listeners = [x for x in self._listeners if x is not entry]

        return unsubscribe

    def listened(self, kind: str) -> bool:
        """Whether any listener wants this kind now."""
        return any(wanted(kind) for _, wanted in self._listeners)

    def publish(self, kind: str, payload: dict[str, Any]) -> None:
        for listener, wanted in self._listeners:
            if not wanted(kind):
                continue
            try:
                listener(kind, payload)
            except Exception:
                log.exception("a %s listener failed", kind)
