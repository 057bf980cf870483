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


class Bus:
    def __init__(self) -> None:
        self._listeners: list[Listener] = []
        self._lock = threading.Lock()

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Add a listener; call the returned function to remove it."""
        with self._lock:
            self._listeners = [*self._listeners, listener]

        def unsubscribe() -> None:
            with self._lock:
                self._listeners = [x for x in self._listeners if x is not listener]

        return unsubscribe

    def listened(self) -> bool:
        """Whether anyone listens: an announcer may then skip building its payload."""
        return bool(self._listeners)

    def publish(self, kind: str, payload: dict[str, Any]) -> None:
        for listener in self._listeners:
            try:
                listener(kind, payload)
            except Exception:
                log.exception("a %s listener failed", kind)
