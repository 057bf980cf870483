"""Rate-of-change rules: the value rose (or fell) by `rise` (`fall`) within `within`.

Judged over readings in reading time, not in the order they arrive: a late reading is put
where it belongs, so a rise that happened inside a reporting gap is found when the backlog
arrives. A move counts at a reading when that reading is `rise` above the lowest reading of
the window before it (`fall` below the highest). The rule fires once `min_points` readings
in a row show the move (1: at once; 2 or more ignore a single-sample spike), and resolves
once as many readings in a row, in order, show less than half of it. A reading alone in its
window (the first after a gap) shows nothing either way. A late reading can fire a rule but
never resolve it: it says nothing about now.

The window is not written down: on start it is rebuilt from the stored series (the engine
hands the tracker the readings of the last two windows before the first new one).
"""

from __future__ import annotations

from bisect import bisect_left
from collections import deque
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from village_brain.alerts.kinds.base import (
    NEVER,
    Action,
    KindSpec,
    Moment,
    Tracker,
    number,
)
from village_brain.core.timefmt import duration_ms

if TYPE_CHECKING:
    from village_brain.alerts.rules import Rule

MOVED, CALM, BETWEEN = 1, -1, 0


class RateTracker(Tracker):
    __slots__ = (
        "dirty",
        "extremes",
        "extremes_for",
        "firing",
        "flags",
        "resolved_at",
        "times",
        "value",
        "values",
    )

    def __init__(self, firing: bool = False, resolved_at: int = NEVER) -> None:
        self.firing = firing
        # The move that fired an alert since resolved must not fire it again.
        self.resolved_at = resolved_at
        self.dirty = False
        self.value: float | None = None
        # Readings of the last two windows, sorted by time, and what each one showed.
        self.times: list[int] = []
        self.values: list[float] = []
        self.flags: list[int] = []
        # The readings that can still be the lowest (a rise rule; the highest for a fall) of
        # the newest reading's window, oldest first: judging a reading in order takes a look
        # at the first, not a pass over a window that a gauge read every second fills with
        # hundreds. `extremes_for` is the (rise?, within) they were kept for; None after a
        # late reading, until they are rebuilt.
        self.extremes: deque[tuple[int, float]] = deque()
        self.extremes_for: tuple[bool, int] | None = None

    @property
    def newest_ts(self) -> int:
        return self.times[-1] if self.times else NEVER

    def preload(self, rule: Rule, points: Iterable[tuple[int, float]]) -> None:
        """Readings already stored before this tracker existed (the start of a process)."""
        for ts_ms, value in sorted(points):
            self._insert(rule, ts_ms, value)

    def reading(self, rule: Rule, ts_ms: int, value: float, moment: Moment) -> Action:
        in_order = ts_ms >= self.newest_ts
        if not self._insert(rule, ts_ms, value):
            return None  # the same reading again
        if in_order:
            self.value = value
        n = max(1, rule.min_points)
        # In order, only the newest reading was judged: only a run ending there is new.
        moved = self._moved_tail(n) if in_order else self._moved_run(rule, n)
        if not self.firing and moved:
            self.firing = True
            return "fire"
        if self.firing and in_order and self._calm_tail(n):
            self.firing, self.resolved_at, self.dirty = False, ts_ms, True
            return "resolve"
        return None

    def _insert(self, rule: Rule, ts_ms: int, value: float) -> bool:
        within = duration_ms(rule.within or "0s")
        times = self.times
        if not times or ts_ms > times[-1]:  # the usual case: the newest reading yet
            times.append(ts_ms)
            self.values.append(value)
            self.flags.append(self._judge_newest(rule, within))
            self._forget(within)
            return True
        at = bisect_left(times, ts_ms)
        if times[at] == ts_ms:
            return False
        if ts_ms < times[-1] - 2 * within:
            return False  # older than anything the window can still use
        times.insert(at, ts_ms)
        self.values.insert(at, value)
        self.flags.insert(at, BETWEEN)
        # A late reading: it and the later ones whose window now holds it need judging again.
        self.extremes_for = None
        end = bisect_left(times, ts_ms + within + 1)
        for i in range(at, end):
            self.flags[i] = self._judge(rule, i, within)
        self._forget(within)
        return True

    def _judge_newest(self, rule: Rule, within: int) -> int:
        """What `_judge` says of the newest reading, from the running extremes."""
        rising = rule.rise is not None
        times = self.times
        i = len(times) - 1
        since = times[i] - within
        if self.extremes_for != (rising, within):
            self.extremes_for = (rising, within)
            self.extremes.clear()
            for j in range(bisect_left(times, since), i):
                self._keep_extreme(rising, times[j], self.values[j])
        self._keep_extreme(rising, times[i], self.values[i])
        while self.extremes[0][0] < since:
            self.extremes.popleft()
        if i == 0 or times[i - 1] < since:
            return BETWEEN  # alone in its window (after a gap): no evidence either way
        extreme = self.extremes[0][1]
        return self._flag(rule, self.values[i] - extreme if rising else extreme - self.values[i])

    def _keep_extreme(self, rising: bool, ts_ms: int, value: float) -> None:
        # A reading is never again the extreme once a newer one is as low (as high).
        kept = self.extremes
        while kept and (kept[-1][1] >= value if rising else kept[-1][1] <= value):
            kept.pop()
        kept.append((ts_ms, value))

    def _judge(self, rule: Rule, i: int, within: int) -> int:
        start = bisect_left(self.times, self.times[i] - within)
        if start == i:
            return BETWEEN  # alone in its window (after a gap): no evidence either way
        window = self.values[start : i + 1]
        if rule.rise is not None:
            return self._flag(rule, self.values[i] - min(window))
        return self._flag(rule, max(window) - self.values[i])

    @staticmethod
    def _flag(rule: Rule, moved: float) -> int:
        limit = rule.rise if rule.rise is not None else rule.fall
        assert limit is not None
        if moved >= limit:
            return MOVED
        return CALM if moved < limit / 2 else BETWEEN

    def _forget(self, within: int) -> None:
        oldest_kept = self.times[-1] - 2 * within
        if self.times[0] >= oldest_kept:
            return
        cut = bisect_left(self.times, oldest_kept)
        if cut:
            del self.times[:cut], self.values[:cut], self.flags[:cut]

    def _moved_run(self, rule: Rule, n: int) -> bool:
        """`n` readings in a row showed the move, the last of them within the current window."""
        since = self.newest_ts - duration_ms(rule.within or "0s")
        run = 0
        for ts_ms, flag in zip(self.times, self.flags, strict=True):
            run = run + 1 if flag == MOVED and ts_ms > self.resolved_at else 0
            if run >= n and ts_ms >= since:
                return True
        return False

    def _moved_tail(self, n: int) -> bool:
        if len(self.flags) < n or self.times[-n] <= self.resolved_at:
            return False
        return self.flags[-n:].count(MOVED) == n

    def _calm_tail(self, n: int) -> bool:
        return self.flags[-n:].count(CALM) == n

    def dump(self) -> dict[str, Any]:
        return {"firing": self.firing, "resolved_at": self.resolved_at}


def check(rule: Rule) -> str | None:
    if rule.within is None:
        return "a rate rule needs within (such as 10m)"
    if (rule.rise is None) == (rule.fall is None):
        return "a rate rule needs exactly one of rise or fall"
    if (rule.rise or rule.fall or 0) <= 0:
        return "rise or fall must be more than zero"
    if not 1 <= rule.min_points <= 100:
        return "min_points must be from 1 to 100"
    return None


def _load(rule: Rule, state: dict[str, Any]) -> RateTracker:
    return RateTracker(bool(state.get("firing")), number(state, "resolved_at", NEVER) or NEVER)


SPEC = KindSpec(
    name="rate",
    feed="readings",
    fields=frozenset({"rise", "fall", "within", "min_points"}),
    sensor_kinds=frozenset({"number"}),
    sensor_required=True,
    check=check,
    new=lambda rule, at_ms: RateTracker(),
    load=_load,
    firing=lambda rule, at_ms: RateTracker(firing=True),
    history=lambda rule: 2 * duration_ms(rule.within or "0s"),
)
