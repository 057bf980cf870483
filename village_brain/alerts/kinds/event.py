"""Event rules: fire on an event of the type, resolve after `clear_after` without another.

The time of the last event is kept across restarts, so the clear deadline does not move.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from village_brain.alerts.kinds.base import (
    NEVER,
    Action,
    KindSpec,
    Moment,
    Tracker,
    id_text_problem,
    number,
)
from village_brain.core.timefmt import duration_ms

if TYPE_CHECKING:
    from village_brain.alerts.rules import Rule


class EventTracker(Tracker):
    __slots__ = ("dirty", "firing", "last_ms", "value")

    def __init__(self, firing: bool = False, last_ms: int = NEVER) -> None:
        self.firing = firing
        self.last_ms = last_ms
        self.value: float | None = None
        self.dirty = False

    def heard(self, at_ms: int) -> Action:
        """The event happened at `at_ms`."""
        self.last_ms, self.dirty = max(self.last_ms, at_ms), True
        if self.firing:
            return None
        self.firing = True
        return "fire"

    def tick(self, rule: Rule, now_ms: int, moment: Moment) -> Action:
        if not self.firing or now_ms - self.last_ms < duration_ms(rule.clear_after):
            return None
        self.firing, self.dirty = False, True
        return "resolve"

    @property
    def idle(self) -> bool:
        return not self.firing

    def dump(self) -> dict[str, Any]:
        return {"firing": self.firing, "last_ms": self.last_ms}


def check(rule: Rule) -> str | None:
    if rule.event is None:
        return "an event rule needs event (the event type, such as smoke_alarm)"
    return id_text_problem("event type", rule.event)


def _load(rule: Rule, state: dict[str, Any]) -> EventTracker:
    return EventTracker(bool(state.get("firing")), number(state, "last_ms", NEVER) or NEVER)


SPEC = KindSpec(
    name="event",
    feed="events",
    fields=frozenset({"event", "clear_after"}),
    sensor_kinds=frozenset(),
    sensor_required=False,
    check=check,
    new=lambda rule, at_ms: EventTracker(),
    load=_load,
    firing=lambda rule, at_ms: EventTracker(firing=True, last_ms=at_ms),
)
