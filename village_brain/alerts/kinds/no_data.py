"""No-data rules: silence. With a sensor, that sensor of a device; without, the device itself.

Fires when nothing was heard for the limit (`silent_for`, or the device's expected interval
times `ingest.offline_after_intervals`), or at once when the device says it is offline;
resolves when it speaks again. A device is heard by any sign of life: telemetry, a status,
an event, so devices that only send events (an SOS button) are watched too.

Silence is counted from the last time heard, and for a device never heard from, from the
time it became known (its registration): that start is kept across restarts, and the last
time heard is taken back from the store (the registry's last-seen, the series' newest point).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from village_brain.alerts.kinds.base import NEVER, Action, KindSpec, Moment, Tracker, number

if TYPE_CHECKING:
    from village_brain.alerts.rules import Rule


class SilenceTracker(Tracker):
    __slots__ = ("dirty", "firing", "last_ms", "value")

    def __init__(self, last_ms: int, firing: bool = False) -> None:
        self.firing = firing
        self.last_ms = last_ms
        self.value: float | None = None
        self.dirty = True  # its start (a registration time) is worth keeping

    def reading(self, rule: Rule, ts_ms: int, value: float, moment: Moment) -> Action:
        self.value = value
        return self.heard(ts_ms)

    def heard(self, at_ms: int) -> Action:
        self.last_ms = max(self.last_ms, at_ms)
        if self.firing:
            self.firing, self.dirty = False, True
            return "resolve"
        return None

    @property
    def idle(self) -> bool:
        return self.firing

    def heard_before(self, at_ms: int) -> None:
        self.last_ms = max(self.last_ms, at_ms)

    def offline(self, at_ms: int) -> Action:
        self.last_ms = max(self.last_ms, at_ms)
        if self.firing:
            return None
        self.firing, self.dirty = True, True
        return "fire"

    def tick(self, rule: Rule, now_ms: int, moment: Moment) -> Action:
        if self.firing or now_ms - self.last_ms <= moment.silence_ms:
            return None
        self.firing, self.dirty = True, True
        return "fire"

    def dump(self) -> dict[str, Any]:
        return {"firing": self.firing, "last_ms": self.last_ms}


def check(rule: Rule) -> str | None:
    return None


def _load(rule: Rule, state: dict[str, Any]) -> SilenceTracker:
    tracker = SilenceTracker(number(state, "last_ms", NEVER) or NEVER, bool(state.get("firing")))
    tracker.dirty = False
    return tracker


SPEC = KindSpec(
    name="no_data",
    feed="presence",
    fields=frozenset({"silent_for"}),
    sensor_kinds=frozenset({"number", "boolean"}),
    sensor_required=False,
    check=check,
    new=lambda rule, at_ms: SilenceTracker(at_ms),
    load=_load,
    firing=lambda rule, at_ms: SilenceTracker(at_ms, firing=True),
)
