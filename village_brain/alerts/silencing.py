"""Silences at work: which alert changes send nothing, and what happens when a silence ends.

The engine asks `holds` while it turns an alert change into messages (inside the store's
transaction, so it answers from memory). Its timer calls `tick`, which records which open
alerts a silence mutes, and hands back those a silence no longer mutes that still fire, to be
notified: the end of a silence is noticed by the clock, not by the next reading.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable, Iterable

import msgspec

from village_brain.alerts.records import Alert
from village_brain.alerts.silence_store import SilenceStore
from village_brain.alerts.silences import Matchers, Silence, muting


class Silencer:
    def __init__(self, store: SilenceStore, place_of: Callable[[str], str]) -> None:
        self.store = store
        self.place_of = place_of
        self._lock = threading.Lock()
        self._silences = {s.id: s for s in store.silences()}
        self._mutes = store.mutes()

    # --- the silences ------------------------------------------------------------------

    def add(
        self, matchers: Matchers, starts_ms: int, ends_ms: int, reason: str, by: str, now: int
    ) -> Silence:
        silence = Silence(
            f"sil_{secrets.token_hex(6)}", matchers, starts_ms, ends_ms, reason, by, now
        )
        self.store.put(silence)
        with self._lock:
            self._silences[silence.id] = silence
        return silence

    def expire(self, silence_id: str, by: str, now: int) -> Silence:
        """End a silence now. Raises KeyError when there is no such silence."""
        silence = self._silences[silence_id]
        if silence.state(now) == "expired":
            return silence
        ended = msgspec.structs.replace(silence, ends_ms=max(now, silence.starts_ms), expired_by=by)
        self.store.put(ended)
        with self._lock:
            self._silences[silence_id] = ended
        return ended

    def reload(self) -> None:
        """Read the silences again: other processes sharing the store make and end them."""
        found = {s.id: s for s in self.store.silences()}
        with self._lock:
            self._silences = found

    def silences(self) -> list[Silence]:
        with self._lock:
            return list(self._silences.values())

    def get(self, silence_id: str) -> Silence | None:
        return self._silences.get(silence_id)

    # --- alerts ------------------------------------------------------------------------

    def muting(self, alert: Alert, now: int) -> list[str]:
        """The silences muting this alert now (none once it is resolved)."""
        if alert.state == "resolved":
            return []
        return muting(self.silences(), alert, self.place_of(alert.device), now)

    def holds(self, alert: Alert, now: int) -> bool:
        """Whether this change of the alert (its resolution included) sends nothing."""
        return bool(muting(self.silences(), alert, self.place_of(alert.device), now))

    def tick(self, open_alerts: Iterable[Alert], now: int) -> tuple[list[Alert], list[Alert]]:
        """Record new mutes. Returns the alerts muted now, and the muted alerts no silence
        mutes any more that still fire."""
        still_open: set[int] = set()
        muted: list[Alert] = []
        ended: list[Alert] = []
        for alert in open_alerts:
            still_open.add(alert.id)
            ids = self.muting(alert, now)
            if ids and alert.id not in self._mutes:
                self.store.mute(alert.id, ids, now)
                self._mutes[alert.id] = tuple(ids)
                muted.append(alert)
            elif not ids and alert.id in self._mutes:
                if alert.state == "firing":
                    ended.append(alert)
                else:
                    self.store.unmute(alert.id, now, note=True)
                    del self._mutes[alert.id]
        for alert_id in [a for a in self._mutes if a not in still_open]:
            # Resolved while muted: no message, as promised; nothing left to do.
            self.store.unmute(alert_id, now, note=False)
            del self._mutes[alert_id]
        return muted, ended

    def forget(self, alert_id: int) -> None:
        """The alert was notified after its silence (by `SilenceStore.renotify`)."""
        self._mutes.pop(alert_id, None)
