"""The state of one rule for one subject (a device's sensor, event type, or the device itself).

Each tracker takes observations and the clock, and answers "fire", "resolve" or nothing.
They hold only a few numbers, so keeping one per rule and subject in memory is cheap.
"""

from __future__ import annotations

from collections import deque
from typing import Literal

from village_brain.alerts.rules import Rule

Action = Literal["fire", "resolve"] | None
NEVER = -(2**62)


def level_verdict(rule: Rule, value: float) -> bool | None:
    """True past the line, False back past the clear level, None in between (keep state)."""
    if rule.kind == "boolean":
        return (value >= 0.5) == rule.equals
    if rule.above is not None:
        if value > rule.above:
            return True
        return None if rule.clear_below is not None and value >= rule.clear_below else False
    assert rule.below is not None
    if value < rule.below:
        return True
    return None if rule.clear_above is not None and value <= rule.clear_above else False


class LevelTracker:
    """Threshold and boolean rules: fire once the breach has held `for`, clear past the clear
    level (the hysteresis band between keeps the current state, so a hovering value does not
    flap)."""

    __slots__ = ("firing", "last_ts", "pending_since", "value")

    def __init__(self, firing: bool = False) -> None:
        self.firing = firing
        self.pending_since: int | None = None
        self.last_ts = NEVER
        self.value: float | None = None

    def observe(self, ts_ms: int, value: float, verdict: bool | None, for_ms: int) -> Action:
        if ts_ms < self.last_ts:
            return None  # a backfilled reading says nothing about now
        self.last_ts, self.value = ts_ms, value
        if verdict is True:
            if self.firing:
                return None
            if self.pending_since is None:
                self.pending_since = ts_ms
            return self._fire_if_held(ts_ms, for_ms)
        if not self.firing or verdict is False:
            self.pending_since = None
        if verdict is False and self.firing:
            self.firing = False
            return "resolve"
        return None

    def tick(self, now_ms: int, for_ms: int) -> Action:
        """Fire when a breach has held `for` with no reading since that says otherwise."""
        if self.firing or self.pending_since is None:
            return None
        return self._fire_if_held(now_ms, for_ms)

    def _fire_if_held(self, now_ms: int, for_ms: int) -> Action:
        assert self.pending_since is not None
        if now_ms - self.pending_since < for_ms:
            return None
        self.firing, self.pending_since = True, None
        return "fire"


class RateTracker:
    """Rate-of-change rules: fire when the value moved by `rise` (or `fall`) within the window,
    resolve once the move within the window is back under half of that."""

    __slots__ = ("firing", "last_ts", "samples", "value")

    def __init__(self, firing: bool = False) -> None:
        self.firing = firing
        self.samples: deque[tuple[int, float]] = deque()
        self.last_ts = NEVER
        self.value: float | None = None

    def observe(self, ts_ms: int, value: float, rule: Rule, within_ms: int) -> Action:
        if self.value is not None and ts_ms < self.last_ts:
            return None
        rising = rule.rise is not None
        # A monotonic queue: its front is the window's lowest value (highest when falling),
        # so each reading costs O(1) however many samples the window holds.
        samples = self.samples
        while samples and (samples[-1][1] >= value if rising else samples[-1][1] <= value):
            samples.pop()
        samples.append((ts_ms, value))
        while samples[0][0] < ts_ms - within_ms:
            samples.popleft()
        self.last_ts, self.value = ts_ms, value
        moved = abs(value - samples[0][1])
        limit = rule.rise if rising else rule.fall
        assert limit is not None
        if not self.firing and moved >= limit:
            self.firing = True
            return "fire"
        if self.firing and moved < limit / 2:
            self.firing = False
            return "resolve"
        return None


class SilenceTracker:
    """No-data rules: fire when nothing arrived for the silence limit, or at once when the
    device says it is offline; resolve when it speaks again."""

    __slots__ = ("firing", "last_ms")

    def __init__(self, last_ms: int, firing: bool = False) -> None:
        self.firing = firing
        self.last_ms = last_ms

    def heard(self, at_ms: int) -> Action:
        self.last_ms = max(self.last_ms, at_ms)
        if self.firing:
            self.firing = False
            return "resolve"
        return None

    def offline(self, at_ms: int) -> Action:
        self.last_ms = max(self.last_ms, at_ms)
        if self.firing:
            return None
        self.firing = True
        return "fire"

    def tick(self, now_ms: int, silent_ms: int) -> Action:
        if self.firing or now_ms - self.last_ms <= silent_ms:
            return None
        self.firing = True
        return "fire"


class EventTracker:
    """Event rules: fire on the event, resolve after `clear_after` without another."""

    __slots__ = ("firing", "last_ms")

    def __init__(self, firing: bool = False, last_ms: int = NEVER) -> None:
        self.firing = firing
        self.last_ms = last_ms

    def happened(self, at_ms: int) -> Action:
        self.last_ms = max(self.last_ms, at_ms)
        if self.firing:
            return None
        self.firing = True
        return "fire"

    def tick(self, now_ms: int, clear_after_ms: int) -> Action:
        if not self.firing or now_ms - self.last_ms < clear_after_ms:
            return None
        self.firing = False
        return "resolve"


Tracker = LevelTracker | RateTracker | SilenceTracker | EventTracker
