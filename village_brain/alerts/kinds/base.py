"""What every rule kind provides, and what a tracker is.

A kind is one module: the check of its settings, the tracker that follows one subject, and
how that tracker's state is written down and read back. The evaluator only routes inputs;
what a kind makes of them is the kind's own business.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Literal

import msgspec

from village_brain.core.ids import id_problem

if TYPE_CHECKING:
    from village_brain.alerts.rules import Rule
    from village_brain.core.catalog import SensorType

Action = Literal["fire", "resolve"] | None
# Which inputs a kind's trackers take: readings of its sensor, events of its type, or any
# sign of life of the device (telemetry, status, events).
Feed = Literal["readings", "events", "presence"]
NEVER = -(2**62)


class Moment(msgspec.Struct, frozen=True):
    """What a tracker may ask of the world at one instant: whether the rule's time window
    and gate let it count, and how long this device may be silent."""

    applies: bool = True
    silence_ms: int = 0


class Tracker:
    """The state of one rule for one subject. `dirty` is set when the state worth keeping
    across a restart changed; the engine writes it down and clears the flag."""

    firing: bool = False
    value: float | None = None
    dirty: bool = False

    def reading(self, rule: Rule, ts_ms: int, value: float, moment: Moment) -> Action:
        return None

    def heard(self, at_ms: int) -> Action:
        return None

    def offline(self, at_ms: int) -> Action:
        return None

    def tick(self, rule: Rule, now_ms: int, moment: Moment) -> Action:
        return None

    @property
    def idle(self) -> bool:
        """Whether the clock alone cannot change this tracker now (a tick may skip it)."""
        return True

    def heard_before(self, at_ms: int) -> None:
        """A sign of life stored before this process started (re-arming after a restart)."""

    def preload(self, rule: Rule, points: Iterable[tuple[int, float]]) -> None:
        """Readings stored before this tracker existed, oldest first (see `KindSpec.history`)."""

    def dump(self) -> dict[str, Any]:
        return {"firing": self.firing}


class KindSpec(msgspec.Struct, frozen=True):
    name: str
    feed: Feed
    # The rule fields only this kind reads; any other kind's field on such a rule is refused.
    fields: frozenset[str]
    # Which catalog sensor kinds fit ("number", "boolean"); empty: the kind takes no sensor.
    sensor_kinds: frozenset[str]
    sensor_required: bool
    check: Callable[[Rule], str | None]
    new: Callable[[Rule, int], Tracker]  # a tracker starting at this time
    load: Callable[[Rule, dict[str, Any]], Tracker]  # a tracker from its dumped state
    firing: Callable[[Rule, int], Tracker]  # an open alert with no state kept (older stores)
    # How far back (ms) its trackers want the stored readings when they start; 0: none.
    history: Callable[[Rule], int] = lambda rule: 0

    @property
    def a_rule(self) -> str:
        """`a threshold rule`, `an event rule`: how messages name a rule of this kind."""
        return f"{'an' if self.name[0] in 'aeiou' else 'a'} {self.name} rule"

    def sensor_problem(self, sensor: SensorType | None) -> str | None:
        if sensor is None:
            return f"{self.a_rule} needs a sensor" if self.sensor_required else None
        if not self.sensor_kinds:
            return f"{self.a_rule} takes no sensor"
        if sensor.kind not in self.sensor_kinds:
            wanted = " or ".join(sorted(self.sensor_kinds))
            return (
                f"sensor {sensor.id!r} reads {sensor.kind} values; {self.a_rule} needs "
                f"a {wanted} sensor"
            )
        return None


def id_text_problem(kind: str, text: str) -> str | None:
    problem = id_problem(kind, text)
    # The id pattern ends in `$`, which also matches before a final line break.
    if problem is None and text.endswith("\n"):
        return f"{kind} id {text!r} ends with a line break"
    return problem


def number(state: dict[str, Any], name: str, default: int | None = None) -> int | None:
    value = state.get(name, default)
    return int(value) if isinstance(value, int | float) else default
