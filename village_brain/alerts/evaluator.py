"""Stream evaluation: readings, statuses, events and the clock in; alert changes out.

No I/O and no clock of its own: the caller passes times in, so every rule can be tested over
simulated time. Rules are indexed by sensor type, so a reading no rule watches costs one
dictionary look-up. Not thread-safe: the engine calls it under its lock.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo

import msgspec

from village_brain.alerts.conditions import (
    EventTracker,
    LevelTracker,
    RateTracker,
    SilenceTracker,
    Tracker,
    level_verdict,
)
from village_brain.alerts.rules import Rule, duration_ms, parse_hours
from village_brain.core.catalog import Catalog
from village_brain.core.presence import silence_limit_ms
from village_brain.core.records import Reading
from village_brain.store.registry import Event

Key = tuple[str, str, str]  # rule id, device, subject (sensor, event type, or "" for the device)


class Change(msgspec.Struct, frozen=True):
    action: Literal["fire", "resolve"]
    rule: Rule
    village: str
    device: str
    subject: str
    at_ms: int
    value: float | None = None
    reason: str = ""

    @property
    def key(self) -> Key:
        return (self.rule.id, self.device, self.subject)


class Clockwork(msgspec.Struct, frozen=True):
    """What time windows mean here: the zone, and the hours of `night` and `day`."""

    zone: str = "Asia/Shanghai"
    night: str = "19:00-06:00"
    day: str = "08:00-17:00"


DEFAULT_CLOCKWORK = Clockwork()


class Evaluator:
    def __init__(
        self,
        rules: Iterable[Rule],
        catalog: Catalog,
        clockwork: Clockwork = DEFAULT_CLOCKWORK,
        offline_after_intervals: float = 3.0,
        place_of: Callable[[str], str] = lambda _device: "",
    ) -> None:
        self.catalog = catalog
        self.offline_after_intervals = offline_after_intervals
        self.place_of = place_of
        self._zone = ZoneInfo(clockwork.zone)
        self._named = {"night": parse_hours(clockwork.night), "day": parse_hours(clockwork.day)}
        self._trackers: dict[Key, Tracker] = {}
        self._village: dict[str, str] = {}
        self._sensors: dict[str, set[str]] = defaultdict(set)
        self._gates: dict[tuple[str, str], float] = {}
        self.set_rules(rules)

    # --- rules ---------------------------------------------------------------------------

    def set_rules(self, rules: Iterable[Rule]) -> list[Key]:
        """Use a new rule set; returns the keys of firing alerts whose rule is gone."""
        self.rules = {r.id: r for r in rules if r.enabled}
        self._by_sensor: dict[str, list[Rule]] = defaultdict(list)
        self._by_event: dict[str, list[Rule]] = defaultdict(list)
        self._device_rules: list[Rule] = []
        for rule in self.rules.values():
            if rule.kind == "event":
                self._by_event[rule.event or ""].append(rule)
            elif rule.sensor is not None:
                self._by_sensor[rule.sensor].append(rule)
            else:
                self._device_rules.append(rule)
        self._gate_sensors = {r.while_on for r in self.rules.values() if r.while_on}
        gone = [k for k in self._trackers if k[0] not in self.rules]
        orphans = [k for k in gone if self._trackers[k].firing]
        for key in gone:
            del self._trackers[key]
        return orphans

    def restore(self, keys: Iterable[tuple[Key, str]], now_ms: int) -> None:
        """Mark alerts active in the store as firing, so a restart does not fire them again."""
        for (rule_id, device, subject), village in keys:
            rule = self.rules.get(rule_id)
            if rule is None:
                continue
            self._village[device] = village
            self._trackers[(rule_id, device, subject)] = _firing_tracker(rule, now_ms)

    def note_sensors(self, device: str, sensors: Iterable[str]) -> None:
        """Sensors a device is known to have: they set its default silence limit."""
        self._sensors[device].update(sensors)

    def firing(self) -> set[Key]:
        return {k for k, t in self._trackers.items() if t.firing}

    # --- inputs --------------------------------------------------------------------------

    def readings(self, readings: Sequence[Reading]) -> list[Change]:
        if self._gate_sensors:
            self._note_gates(readings)
        changes: list[Change] = []
        for reading in readings:
            self._sensors[reading.device].add(reading.sensor)
            for rule in self._by_sensor.get(reading.sensor, ()):
                if self._in_scope(rule, reading.village, reading.device):
                    change = self._observe(rule, reading)
                    if change is not None:
                        changes.append(change)
        return changes

    def seen(self, device: str, village: str, at_ms: int) -> list[Change]:
        """The device sent telemetry (received at `at_ms`)."""
        self._village[device] = village
        changes = []
        for rule in self._device_rules:
            if self._in_scope(rule, village, device):
                tracker = self._silence(rule, device, "", at_ms)
                change = self._change(tracker.heard(at_ms), rule, device, "", at_ms)
                if change is not None:
                    changes.append(change)
        return changes

    def status(self, device: str, village: str, status: str, at_ms: int) -> list[Change]:
        if status != "offline":
            return self.seen(device, village, at_ms)
        self._village[device] = village
        changes = []
        for rule in self._device_rules:
            if self._in_scope(rule, village, device):
                tracker = self._silence(rule, device, "", at_ms)
                change = self._change(
                    tracker.offline(at_ms), rule, device, "", at_ms, reason="offline"
                )
                if change is not None:
                    changes.append(change)
        return changes

    def events(self, events: Iterable[Event]) -> list[Change]:
        changes = []
        for event in events:
            for rule in self._by_event.get(event.type, ()):
                if not self._in_scope(rule, event.village, event.device):
                    continue
                key = (rule.id, event.device, event.type)
                tracker = self._trackers.setdefault(key, EventTracker())
                assert isinstance(tracker, EventTracker)
                self._village[event.device] = event.village
                action = tracker.happened(event.ts_ms)
                change = self._change(action, rule, event.device, event.type, event.ts_ms)
                if change is not None:
                    changes.append(change)
        return changes

    def tick(self, now_ms: int) -> list[Change]:
        """What the clock alone changes: held breaches, silences, quiet events."""
        changes = []
        for key, tracker in list(self._trackers.items()):
            rule = self.rules[key[0]]
            action = self._tick_one(rule, key, tracker, now_ms)
            change = self._change(action, rule, key[1], key[2], now_ms)
            if change is not None:
                changes.append(change)
        return changes

    # --- internals -----------------------------------------------------------------------

    def _observe(self, rule: Rule, reading: Reading) -> Change | None:
        key = (rule.id, reading.device, reading.sensor)
        if rule.kind == "no_data":
            tracker = self._silence(rule, reading.device, reading.sensor, reading.ts_ms)
            action = tracker.heard(reading.ts_ms)
        elif rule.kind == "rate":
            rate = self._trackers.setdefault(key, RateTracker())
            assert isinstance(rate, RateTracker)
            action = rate.observe(reading.ts_ms, reading.value, rule, _ms(rule.within))
        else:
            level = self._trackers.setdefault(key, LevelTracker())
            assert isinstance(level, LevelTracker)
            verdict = level_verdict(rule, reading.value)
            if verdict and not self._applies(rule, reading.device, reading.ts_ms):
                verdict = False
            action = level.observe(reading.ts_ms, reading.value, verdict, rule.for_ms)
        self._village[reading.device] = reading.village
        return self._change(
            action, rule, reading.device, reading.sensor, reading.ts_ms, reading.value
        )

    def _tick_one(self, rule: Rule, key: Key, tracker: Tracker, now_ms: int) -> str | None:
        if isinstance(tracker, LevelTracker):
            if tracker.pending_since is not None and not self._applies(rule, key[1], now_ms):
                return None
            return tracker.tick(now_ms, rule.for_ms)
        if isinstance(tracker, SilenceTracker):
            return tracker.tick(now_ms, self._silence_ms(rule, key[1]))
        if isinstance(tracker, EventTracker):
            return tracker.tick(now_ms, _ms(rule.clear_after))
        return None

    def _silence(self, rule: Rule, device: str, subject: str, at_ms: int) -> SilenceTracker:
        tracker = self._trackers.setdefault((rule.id, device, subject), SilenceTracker(at_ms))
        assert isinstance(tracker, SilenceTracker)
        return tracker

    def _silence_ms(self, rule: Rule, device: str) -> int:
        if rule.silent_for is not None:
            return _ms(rule.silent_for)
        sensors = [rule.sensor] if rule.sensor else self._sensors.get(device, ())
        return silence_limit_ms(self.catalog, sensors, self.offline_after_intervals)

    def _in_scope(self, rule: Rule, village: str, device: str) -> bool:
        return (
            (rule.village is None or rule.village == village)
            and (rule.device is None or rule.device == device)
            and (rule.place is None or rule.place == self.place_of(device))
        )

    def _applies(self, rule: Rule, device: str, at_ms: int) -> bool:
        """Whether the rule's time window and `while_on` sensor let it count now."""
        if rule.while_on is not None and self._gates.get((device, rule.while_on), 0.0) < 0.5:
            return False
        if rule.during is None:
            return True
        start, end = self._named.get(rule.during) or parse_hours(rule.during)
        local = datetime.fromtimestamp(at_ms / 1000, self._zone)
        minute = local.hour * 60 + local.minute
        return start <= minute < end if start <= end else minute >= start or minute < end

    def _note_gates(self, readings: Sequence[Reading]) -> None:
        # Before evaluating, so a lamp's state and power in one message agree.
        for reading in readings:
            if reading.sensor in self._gate_sensors:
                self._gates[(reading.device, reading.sensor)] = reading.value

    def _change(
        self,
        action: str | None,
        rule: Rule,
        device: str,
        subject: str,
        at_ms: int,
        value: float | None = None,
        reason: str = "",
    ) -> Change | None:
        if action is None:
            return None
        if value is None:
            value = getattr(self._trackers.get((rule.id, device, subject)), "value", None)
        return Change(
            action,  # type: ignore[arg-type]
            rule,
            self._village.get(device, ""),
            device,
            subject,
            at_ms,
            value,
            reason,
        )


def _firing_tracker(rule: Rule, now_ms: int) -> Tracker:
    if rule.kind == "no_data":
        return SilenceTracker(now_ms, firing=True)
    if rule.kind == "event":
        return EventTracker(firing=True, last_ms=now_ms)
    if rule.kind == "rate":
        return RateTracker(firing=True)
    return LevelTracker(firing=True)


def _ms(text: str | None) -> int:
    assert text is not None
    return duration_ms(text)
