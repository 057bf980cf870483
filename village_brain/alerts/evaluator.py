"""Stream evaluation: readings, statuses, events and the clock in; alert changes out.

No I/O and no clock of its own: the caller passes times in, so every rule can be tested over
simulated time. Rules are indexed by sensor type, so a reading no rule watches costs one
dictionary look-up. Not thread-safe: the engine calls it under its lock.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

import msgspec

from village_brain.alerts.kinds import KINDS
from village_brain.alerts.kinds.base import Moment, Tracker
from village_brain.alerts.rules import Rule, parse_hours
from village_brain.core.catalog import Catalog
from village_brain.core.presence import silence_limit_ms
from village_brain.core.records import Reading
from village_brain.core.timefmt import duration_ms
from village_brain.store.registry import Event

Key = tuple[str, str, str]  # rule id, device, subject (sensor, event type, or "" for the device)
Seen = tuple[str, str, int]  # device, village, received at: a sign of life
StatusSeen = tuple[str, str, str, int]  # device, village, status, at


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


# Stored readings of one sensor, for each device in [its start, its end): (reading time,
# value) by time, devices without any left out. One call for many devices, so a rule that
# meets a whole fleet after a start reads the store once, not once per device.
History = Callable[[str, dict[str, tuple[int, int]]], dict[str, list[tuple[int, float]]]]


class Evaluator:
    def __init__(
        self,
        rules: Iterable[Rule],
        catalog: Catalog,
        clockwork: Clockwork = DEFAULT_CLOCKWORK,
        offline_after_intervals: float = 3.0,
        place_of: Callable[[str], str] = lambda _device: "",
        kind_of: Callable[[str], str] = lambda _device: "",
        history: History | None = None,
    ) -> None:
        self.catalog = catalog
        self.offline_after_intervals = offline_after_intervals
        self.place_of = place_of
        self.kind_of = kind_of
        self.history = history
        self._zone = ZoneInfo(clockwork.zone)
        self._named = {"night": parse_hours(clockwork.night), "day": parse_hours(clockwork.day)}
        self._trackers: dict[Key, Tracker] = {}
        self._touched: set[Key] = set()
        self._unloaded: set[Key] = set()  # rate windows still to be rebuilt from the store
        self._village: dict[str, str] = {}
        self._sensors: dict[str, set[str]] = defaultdict(set)
        self._gates: dict[tuple[str, str], float] = {}
        self.set_rules(rules)

    # --- rules and state -----------------------------------------------------------------

    def set_rules(self, rules: Iterable[Rule]) -> list[Key]:
        """Use a new rule set; returns the keys of firing alerts whose rule is gone."""
        old = getattr(self, "rules", {})
        self.rules = {r.id: r for r in rules if r.enabled}
        self._by_sensor: dict[str, list[Rule]] = defaultdict(list)
        self._by_event: dict[str, list[Rule]] = defaultdict(list)
        self._device_rules: list[Rule] = []
        for rule in self.rules.values():
            if KINDS[rule.kind].feed == "events":
                self._by_event[rule.event or ""].append(rule)
            elif rule.sensor is not None:
                self._by_sensor[rule.sensor].append(rule)
            else:
                self._device_rules.append(rule)
        self._gate_sensors = {r.while_on for r in self.rules.values() if r.while_on}
        # Rules for a part of the fleet, and rules that ask the moment (a time window, a
        # gate, a silence limit): the rest skip those checks on every reading.
        self._scoped = {r.id for r in self.rules.values() if _is_scoped(r)}
        self._momentous = {
            r.id
            for r in self.rules.values()
            if KINDS[r.kind].feed == "presence" or r.during is not None or r.while_on is not None
        }
        # Rules whose trackers start from stored readings, by the sensor they watch.
        self._windowed: dict[str, list[Rule]] = defaultdict(list)
        for rule in self.rules.values():
            if rule.sensor is not None and KINDS[rule.kind].history(rule) > 0:
                self._windowed[rule.sensor].append(rule)
        gone = [k for k in self._trackers if k[0] not in self.rules]
        orphans = [k for k in gone if self._trackers[k].firing]
        for key in gone:
            del self._trackers[key]
        # A rule whose kind changed keeps only whether it was firing: the old kind's state
        # means nothing to the new one.
        for key, tracker in list(self._trackers.items()):
            rule = self.rules[key[0]]
            if old.get(key[0]) is not None and old[key[0]].kind != rule.kind:
                if tracker.firing:
                    self._trackers[key] = KINDS[rule.kind].firing(rule, 0)
                else:
                    del self._trackers[key]
        return orphans

    def restore(self, keys: Iterable[tuple[Key, str]], now_ms: int) -> None:
        """Mark alerts active in the store as firing, so a restart does not fire them again
        (for alerts whose rule state was not kept)."""
        for (rule_id, device, subject), village in keys:
            rule = self.rules.get(rule_id)
            if rule is None:
                continue
            self._village[device] = village
            key = (rule_id, device, subject)
            self._trackers[key] = KINDS[rule.kind].firing(rule, now_ms)
            self._unloaded.add(key)

    def load_states(self, states: Iterable[tuple[Key, str, str, dict[str, Any]]]) -> None:
        """Trackers as they were written down: (key, kind, village, state)."""
        for key, kind, village, state in states:
            rule = self.rules.get(key[0])
            if rule is None or rule.kind != kind:
                continue
            self._trackers[key] = KINDS[kind].load(rule, state)
            self._unloaded.add(key)
            if village:
                self._village[key[1]] = village

    def take_dirty(self) -> dict[Key, tuple[str, str, dict[str, Any]]]:
        """States changed since the last call: key -> (kind, village, state)."""
        out = {}
        for key in self._touched:
            tracker = self._trackers.get(key)
            if tracker is not None and tracker.dirty:
                tracker.dirty = False
                kind = self.rules[key[0]].kind
                out[key] = (kind, self._village.get(key[1], ""), tracker.dump())
        self._touched.clear()
        return out

    def note_sensors(self, device: str, sensors: Iterable[str]) -> None:
        """Sensors a device is known to have: they set its default silence limit."""
        self._sensors[device].update(sensors)

    def arm(
        self,
        device: str,
        village: str,
        heard_ms: int | None,
        sensors_heard: dict[str, int],
        now_ms: int,
    ) -> None:
        """Watch a registered device for silence, heard from last at `heard_ms` (None: never;
        silence then counts from now, its registration) and each sensor at its own time."""
        self._village[device] = village
        for rule in self._device_rules:
            if self._in_scope(rule, village, device):
                self._arm_one(rule, (rule.id, device, ""), heard_ms, now_ms)
        for sensor in self._sensors.get(device, set()) | set(sensors_heard):
            for rule in self._by_sensor.get(sensor, ()):
                if KINDS[rule.kind].feed == "presence" and self._in_scope(rule, village, device):
                    key = (rule.id, device, sensor)
                    self._arm_one(rule, key, sensors_heard.get(sensor), now_ms)

    def _arm_one(self, rule: Rule, key: Key, heard_ms: int | None, now_ms: int) -> None:
        tracker = self._trackers.get(key)
        if tracker is None:
            start = now_ms if heard_ms is None else heard_ms
            self._trackers[key] = KINDS[rule.kind].new(rule, start)
            self._touched.add(key)
        elif heard_ms is not None:
            tracker.heard_before(heard_ms)

    def disarm(self, key: Key) -> None:
        """The alert of `key` is closed: the tracker is no longer firing."""
        tracker = self._trackers.get(key)
        if tracker is not None and tracker.firing:
            tracker.firing, tracker.dirty = False, True
            self._touched.add(key)

    def forget(self, gone: Callable[[str], bool]) -> None:
        """Drop the trackers of the devices `gone` names (their partition went elsewhere)."""
        for key in [k for k in self._trackers if gone(k[1])]:
            del self._trackers[key]
        self._touched = {k for k in self._touched if not gone(k[1])}
        self._unloaded = {k for k in self._unloaded if not gone(k[1])}
        self._gates = {k: v for k, v in self._gates.items() if not gone(k[0])}

    def dirty_keys(self) -> list[Key]:
        """Keys whose state changed and is not taken yet."""
        return [k for k in self._touched if getattr(self._trackers.get(k), "dirty", False)]

    def firing(self) -> set[Key]:
        return {k for k, t in self._trackers.items() if t.firing}

    # --- inputs --------------------------------------------------------------------------

    def batch(
        self,
        readings: Sequence[Reading],
        seen: Iterable[Seen] = (),
        statuses: Iterable[StatusSeen] = (),
        events: Sequence[Event] = (),
    ) -> list[Change]:
        """What one committed batch changes: its readings, then its signs of life, statuses
        and events, in that order."""
        changes = self.readings(readings)
        for device, village, at_ms in seen:
            changes += self.seen(device, village, at_ms)
        for device, village, status, at_ms in statuses:
            changes += self.status(device, village, status, at_ms)
        if events:
            changes += self.events(events)
        return changes

    def readings(self, readings: Sequence[Reading]) -> list[Change]:
        if self._gate_sensors:
            self._note_gates(readings)
        if self.history is not None:
            self._rebuild_windows(readings)
        changes: list[Change] = []
        by_sensor, scoped = self._by_sensor, self._scoped
        for reading in readings:
            self._sensors[reading.device].add(reading.sensor)
            rules = by_sensor.get(reading.sensor)
            if not rules:
                continue
            self._village[reading.device] = reading.village
            for rule in rules:
                if rule.id in scoped and not self._in_scope(rule, reading.village, reading.device):
                    continue
                change = self._observe(rule, reading)
                if change is not None:
                    changes.append(change)
        return changes

    def seen(self, device: str, village: str, at_ms: int) -> list[Change]:
        """The device sent telemetry, or another sign of life (received at `at_ms`)."""
        return self._presence(device, village, at_ms, offline=False)

    def status(self, device: str, village: str, status: str, at_ms: int) -> list[Change]:
        return self._presence(device, village, at_ms, offline=status == "offline")

    def events(self, events: Iterable[Event]) -> list[Change]:
        changes = []
        for event in events:
            # An event is a sign of life too: devices that send nothing else are watched.
            changes += self.seen(event.device, event.village, event.ts_ms)
            for rule in self._by_event.get(event.type, ()):
                if not self._in_scope(rule, event.village, event.device):
                    continue
                key = (rule.id, event.device, event.type)
                tracker = self._tracker(rule, key, event.ts_ms)
                self._village[event.device] = event.village
                action = tracker.heard(event.ts_ms)
                if tracker.dirty:
                    self._touched.add(key)
                change = self._change(action, rule, event.device, event.type, event.ts_ms)
                if change is not None:
                    changes.append(change)
        return changes

    def tick(self, now_ms: int) -> list[Change]:
        """What the clock alone changes: held breaches, silences, quiet events."""
        changes = []
        for key, tracker in list(self._trackers.items()):
            if tracker.idle:
                continue
            rule = self.rules[key[0]]
            action = tracker.tick(rule, now_ms, self._moment(rule, key[1], now_ms))
            if action is not None:
                self._touched.add(key)
            change = self._change(action, rule, key[1], key[2], now_ms)
            if change is not None:
                changes.append(change)
        return changes

    # --- internals -----------------------------------------------------------------------

    def _tracker(self, rule: Rule, key: Key, at_ms: int) -> Tracker:
        """The key's tracker, made (or its window rebuilt) if need be; the caller marks the
        key touched if the tracker is dirty after its use."""
        tracker = self._trackers.get(key)
        if tracker is None:
            self._trackers[key] = tracker = KINDS[rule.kind].new(rule, at_ms)
            self._unloaded.add(key)
        if key in self._unloaded:
            self._unloaded.discard(key)
            self._rebuild(rule, key, tracker, at_ms)
        return tracker

    def _rebuild(self, rule: Rule, key: Key, tracker: Tracker, at_ms: int) -> None:
        """A window (of a rate rule) starts from the stored readings before its first new one."""
        span = KINDS[rule.kind].history(rule)
        if self.history is None or span <= 0:
            return
        device, sensor = key[1], key[2]
        found = self.history(sensor, {device: (at_ms - span, at_ms)})
        tracker.preload(rule, found.get(device, ()))

    def _rebuild_windows(self, readings: Sequence[Reading]) -> None:
        """Rebuild every window this batch meets for the first time, one store read for
        each rule: the same windows `_rebuild` would give one device at a time, each from
        the stored readings before the device's first reading in the batch."""
        pending: dict[str, tuple[Rule, int, dict[str, tuple[int, int]]]] = {}
        for reading in readings:
            for rule in self._windowed.get(reading.sensor, ()):
                key = (rule.id, reading.device, reading.sensor)
                if key in self._trackers and key not in self._unloaded:
                    continue
                if not self._in_scope(rule, reading.village, reading.device):
                    continue
                entry = pending.get(rule.id)
                if entry is None:
                    entry = pending[rule.id] = (rule, KINDS[rule.kind].history(rule), {})
                _, span, windows = entry
                # The first reading of the key in the batch is the one `_tracker` meets.
                windows.setdefault(reading.device, (reading.ts_ms - span, reading.ts_ms))
        assert self.history is not None
        for rule, _span, windows in pending.values():
            sensor = rule.sensor or ""
            found = self.history(sensor, windows)
            for device, (_, at_ms) in windows.items():
                key = (rule.id, device, sensor)
                tracker = self._trackers.get(key)
                if tracker is None:
                    self._trackers[key] = tracker = KINDS[rule.kind].new(rule, at_ms)
                self._unloaded.discard(key)
                tracker.preload(rule, found.get(device, ()))

    def _presence(self, device: str, village: str, at_ms: int, offline: bool) -> list[Change]:
        self._village[device] = village
        changes = []
        for rule in self._device_rules:
            if self._in_scope(rule, village, device):
                key = (rule.id, device, "")
                tracker = self._tracker(rule, key, at_ms)
                action = tracker.offline(at_ms) if offline else tracker.heard(at_ms)
                if tracker.dirty:
                    self._touched.add(key)
                reason = "offline" if offline else ""
                change = self._change(action, rule, device, "", at_ms, reason=reason)
                if change is not None:
                    changes.append(change)
        return changes

    def _observe(self, rule: Rule, reading: Reading) -> Change | None:
        key = (rule.id, reading.device, reading.sensor)
        tracker = self._tracker(rule, key, reading.ts_ms)
        moment = (
            self._moment(rule, reading.device, reading.ts_ms)
            if rule.id in self._momentous
            else _ALWAYS
        )
        action = tracker.reading(rule, reading.ts_ms, reading.value, moment)
        if tracker.dirty:
            self._touched.add(key)
        if action is None:
            return None
        return self._change(
            action, rule, reading.device, reading.sensor, reading.ts_ms, reading.value
        )

    def _moment(self, rule: Rule, device: str, at_ms: int) -> Moment:
        if KINDS[rule.kind].feed == "presence":
            return Moment(silence_ms=self._silence_ms(rule, device))
        if rule.during is None and rule.while_on is None:
            return _ALWAYS
        return Moment(applies=self._applies(rule, device, at_ms))

    def _silence_ms(self, rule: Rule, device: str) -> int:
        if rule.silent_for is not None:
            return duration_ms(rule.silent_for)
        sensors = [rule.sensor] if rule.sensor else self._sensors.get(device, ())
        return silence_limit_ms(self.catalog, sensors, self.offline_after_intervals)

    def _in_scope(self, rule: Rule, village: str, device: str) -> bool:
        return (
            (rule.village is None or rule.village == village)
            and (rule.device is None or rule.device == device)
            and (not rule.devices or device in rule.devices)
            and (rule.place is None or rule.place == self.place_of(device))
            and (rule.device_kind is None or rule.device_kind == self.kind_of(device))
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


_ALWAYS = Moment()


def _is_scoped(rule: Rule) -> bool:
    return any(
        field is not None for field in (rule.village, rule.device, rule.place, rule.device_kind)
    ) or bool(rule.devices)
