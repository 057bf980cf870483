"""The tracker shared by threshold and boolean rules: a breach held `for`, with hysteresis.

Fire once the breach has held `for` (in reading time, and by the clock when no reading says
otherwise); clear past the clear level. The band between keeps the current state, so a
hovering value does not flap. The start of a pending breach and the firing state are what a
restart must not lose.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from village_brain.alerts.kinds.base import NEVER, Action, Moment, Tracker, number

if TYPE_CHECKING:
    from village_brain.alerts.rules import Rule

# True past the line, False back past the clear level, None in between (keep state).
Verdict = Callable[["Rule", float], "bool | None"]


class LevelTracker(Tracker):
    __slots__ = ("dirty", "firing", "last_ts", "pending_since", "value", "verdict")

    def __init__(self, verdict: Verdict, firing: bool = False) -> None:
        self.verdict = verdict
        self.firing = firing
        self.pending_since: int | None = None
        self.last_ts = NEVER
        self.value: float | None = None
        self.dirty = False

    def reading(self, rule: Rule, ts_ms: int, value: float, moment: Moment) -> Action:
        if ts_ms < self.last_ts:
            return None  # a backfilled reading says nothing about now
        self.last_ts, self.value = ts_ms, value
        verdict = self.verdict(rule, value)
        if verdict and not moment.applies:
            verdict = False
        if verdict is True:
            if self.firing:
                return None
            if self.pending_since is None:
                self._pending(ts_ms)
            return self._fire_if_held(ts_ms, rule.for_ms)
        if self.pending_since is not None and (not self.firing or verdict is False):
            self._pending(None)
        if verdict is False and self.firing:
            self.firing, self.dirty = False, True
            return "resolve"
        return None

    def tick(self, rule: Rule, now_ms: int, moment: Moment) -> Action:
        """Fire when a breach has held `for` with no reading since that says otherwise."""
        if self.firing or self.pending_since is None or not moment.applies:
            return None
        return self._fire_if_held(now_ms, rule.for_ms)

    @property
    def idle(self) -> bool:
        return self.firing or self.pending_since is None

    def _pending(self, since: int | None) -> None:
        self.pending_since, self.dirty = since, True

    def _fire_if_held(self, now_ms: int, for_ms: int) -> Action:
        assert self.pending_since is not None
        if now_ms - self.pending_since < for_ms:
            return None
        self.firing, self.pending_since, self.dirty = True, None, True
        return "fire"

    def dump(self) -> dict[str, Any]:
        return {
            "firing": self.firing,
            "pending_since": self.pending_since,
            "last_ts": self.last_ts,
            "value": self.value,
        }

    @classmethod
    def load(cls, verdict: Verdict, state: dict[str, Any]) -> LevelTracker:
        tracker = cls(verdict, bool(state.get("firing")))
        tracker.pending_since = number(state, "pending_since")
        tracker.last_ts = number(state, "last_ts", NEVER) or NEVER
        value = state.get("value")
        tracker.value = float(value) if isinstance(value, int | float) else None
        return tracker
