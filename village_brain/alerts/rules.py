"""Alert rules: what to watch, where, and when it counts as trouble.

A rule is a plain record read from the rules file (TOML) or sent to the API (JSON); both go
through `parse_rule`, so a rule means the same wherever it was written.
"""

from __future__ import annotations

import math
import tomllib
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import msgspec

from village_brain.alerts.kinds import KIND_FIELDS, KINDS
from village_brain.alerts.kinds.base import id_text_problem
from village_brain.control.validate import ACTIONS, check_command
from village_brain.core.catalog import Catalog
from village_brain.core.devices import Device
from village_brain.core.records import Problem
from village_brain.core.timefmt import duration_ms, parse_duration_ms

__all__ = [
    "Known",
    "Rule",
    "RuleAction",
    "RuleError",
    "load_rules",
    "parse_rule",
]

# No rule needs to wait or look back longer than this; beyond it a duration is a typo.
MAX_DURATION_MS = 366 * 86_400_000
# Duration fields: the attribute, and its name in rules.
DURATIONS = (
    ("for_", "for"),
    ("within", "within"),
    ("silent_for", "silent_for"),
    ("clear_after", "clear_after"),
    ("repeat_every", "repeat_every"),
)
NUMBERS = ("above", "below", "clear_below", "clear_above", "rise", "fall")
Severity = Literal["critical", "major", "minor", "warning", "info"]
Kind = Literal["threshold", "rate", "no_data", "boolean", "event"]
SEVERITIES: tuple[str, ...] = ("critical", "major", "minor", "warning", "info")


class RuleAction(msgspec.Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    """A command an alert's transition sends (docs/alerts.md, rule actions): to the listed
    devices, or to those of the alert's village of `device_kind` and at `place` ("same": the
    alerting device's place)."""

    target: str  # a controllable sensor type, or a named action
    on: Literal["fired", "resolved"] = "fired"
    value: str | float | bool | None = None
    devices: tuple[str, ...] = ()
    device_kind: str | None = None
    place: str | None = None
    cooldown: str | None = None  # no repeat of this action to a device within it
    expires_in: str = "5m"

    @property
    def expires_in_ms(self) -> int:
        return duration_ms(self.expires_in)

    @property
    def cooldown_ms(self) -> int:
        return duration_ms(self.cooldown) if self.cooldown else 0


class Rule(msgspec.Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    id: str
    name: str
    severity: Severity
    kind: Kind
    # Scope: which readings the rule looks at. Unset parts match everything; a sensor type
    # without a village watches it across villages.
    sensor: str | None = None
    village: str | None = None
    device: str | None = None
    devices: tuple[str, ...] = ()  # any of these devices
    device_kind: str | None = None  # devices of this kind (the registry's `kind`)
    place: str | None = None
    # threshold
    above: float | None = None
    below: float | None = None
    clear_below: float | None = None
    clear_above: float | None = None
    for_: str | None = msgspec.field(default=None, name="for")
    # boolean
    equals: bool | None = None
    # rate of change
    rise: float | None = None
    fall: float | None = None
    within: str | None = None
    min_points: int = 1  # readings in a row that must show the move (2+: ignore a spike)
    # no data
    silent_for: str | None = None
    # event
    event: str | None = None
    clear_after: str = "30m"
    # when the rule applies: "night", "day" or local hours "HH:MM-HH:MM"; and a boolean
    # sensor of the same device that must read true (a lamp drawing no power only matters
    # while it is switched on)
    during: str | None = None
    while_on: str | None = None
    repeat_every: str | None = None
    enabled: bool = True
    description: str = ""
    actions: tuple[RuleAction, ...] = ()

    @property
    def for_ms(self) -> int:
        return duration_ms(self.for_) if self.for_ else 0


class Known(msgspec.Struct, frozen=True):
    """What a rule's scope may name: the registered devices (id -> village, kind, place)."""

    devices: dict[str, tuple[str, str, str]]

    @property
    def villages(self) -> set[str]:
        return {v for v, _, _ in self.devices.values()}

    @property
    def kinds(self) -> set[str]:
        return {k for _, k, _ in self.devices.values()}

    @property
    def places(self) -> set[str]:
        return {p for _, _, p in self.devices.values() if p}


class RuleError(ValueError):
    """A rule that cannot be used; the message says which rule and what to fix."""


def parse_rule(
    raw: dict[str, Any],
    catalog: Catalog,
    known: Known | None = None,
    stored: bool = False,
) -> Rule:
    """A usable rule, or RuleError saying which rule and what to fix. With `known`, the
    devices, villages, places and device kinds it names must exist. A `stored` rule was
    accepted once, when fields its kind ignores were not yet refused: it keeps working."""
    where = f"rule {str(raw.get('id', '(no id)'))[:64]!r}"
    try:
        rule = msgspec.convert(raw, Rule)
    except msgspec.ValidationError as exc:
        raise RuleError(f"{where}: {exc}") from None
    problem = (
        _id_problem("rule", rule.id)
        or _problem(rule, catalog)
        or (None if stored else _ignored(rule, raw))
        or (_unknown(rule, known) if known is not None else None)
        or _actions_problem(rule, catalog, known)
    )
    if problem:
        raise RuleError(f"{where}: {problem}")
    return rule


_id_problem = id_text_problem
# The name of each field in rules, where it differs from the attribute.
_FIELD_NAMES = {"for_": "for"}


def _ignored(rule: Rule, raw: dict[str, Any]) -> str | None:
    """A field another kind reads would be ignored by this one: refuse it rather than let a
    rule look stricter than it is."""
    spec = KINDS[rule.kind]
    # JSON null is how an API client leaves a field unset.
    written = {a for a in KIND_FIELDS if raw.get(_FIELD_NAMES.get(a, a)) is not None}
    stray = sorted(_FIELD_NAMES.get(a, a) for a in written - spec.fields)
    if stray:
        return f"{spec.a_rule} does not use {', '.join(stray)}: remove it"
    return None


def _unknown(rule: Rule, known: Known) -> str | None:
    devices = [d for d in (rule.device, *rule.devices) if d is not None]
    missing = [d for d in devices if d not in known.devices]
    if missing:
        return f"no device {', '.join(map(repr, missing))} is registered"
    if rule.village is not None and rule.village not in known.villages:
        return f"no registered device is in village {rule.village!r}"
    for device in devices:
        village = known.devices[device][0]
        if rule.village is not None and village != rule.village:
            return f"device {device!r} is in village {village!r}, not {rule.village!r}"
    if rule.place is not None and rule.place not in known.places:
        return f"no registered device is at place {rule.place!r}"
    if rule.device_kind is not None and rule.device_kind not in known.kinds:
        return f"no registered device is of kind {rule.device_kind!r}"
    return None


def _actions_problem(rule: Rule, catalog: Catalog, known: Known | None) -> str | None:
    for number, action in enumerate(rule.actions, 1):
        problem = _action_problem(action, catalog, known)
        if problem:
            return f"action {number} ({action.on} -> {action.target[:64]}): {problem}"
    return None


def _action_problem(action: RuleAction, catalog: Catalog, known: Known | None) -> str | None:
    sensor = catalog.get(action.target)
    if action.target not in ACTIONS and (sensor is None or not sensor.controllable):
        controllable = sorted(t.id for t in catalog.types.values() if t.controllable)
        return f"target must be one of {', '.join([*controllable, *ACTIONS])}"
    value = check_command(catalog, Device("-", "-"), action.target, action.value)
    if isinstance(value, Problem):
        return value.detail
    for field in ("expires_in", "cooldown"):
        text = getattr(action, field)
        problem = None if text is None else _duration_problem(field, text)
        if problem:
            return problem
    if action.expires_in_ms <= 0:
        return "expires_in must be longer than 0s"
    if not (action.devices or action.device_kind or action.place):
        return 'say which devices: devices, device_kind or place ("same": the alert\'s place)'
    if action.devices and (action.device_kind or action.place):
        return "write either devices or device_kind/place, not both"
    for text in (*action.devices, *((action.device_kind,) if action.device_kind else ())):
        if problem := _id_problem("device", text):
            return problem
    return None if known is None else _action_unknown(action, known)


def _action_unknown(action: RuleAction, known: Known) -> str | None:
    missing = [d for d in action.devices if d not in known.devices]
    if missing:
        return f"no device {', '.join(map(repr, missing))} is registered"
    place = None if action.place == "same" else action.place
    if (action.device_kind or place) and not any(
        (action.device_kind in (None, kind)) and (place in (None, at))
        for _, kind, at in known.devices.values()
    ):
        wanted = " at ".join(repr(x) for x in (action.device_kind, place) if x)
        return f"no registered device matches {wanted}"
    return None


def _problem(rule: Rule, catalog: Catalog) -> str | None:
    for name in NUMBERS:
        value = getattr(rule, name)
        if value is not None and not math.isfinite(value):
            return f"{name} must be a finite number, not {value}"
    for name, field in DURATIONS:
        text = getattr(rule, name)
        problem = None if text is None else _duration_problem(field, text)
        if problem:
            return problem
    scope = (("village", rule.village), ("device", rule.device), ("device", rule.device_kind))
    for kind, text in (*scope, *(("device", d) for d in rule.devices)):
        if text is not None and (problem := _id_problem(kind, text)):
            return problem
    if rule.device is not None and rule.devices:
        return "write either device or devices, not both"
    sensor = None if rule.sensor is None else catalog.get(rule.sensor)
    if rule.sensor is not None and sensor is None:
        return f"sensor type {rule.sensor!r} is not in the catalog"
    if rule.while_on is not None:
        gate = catalog.get(rule.while_on)
        if gate is None:
            return f"while_on sensor {rule.while_on!r} is not in the catalog"
        if gate.kind != "boolean":
            return f"while_on sensor {rule.while_on!r} must be a boolean sensor"
    if rule.during is not None and not _window_ok(rule.during):
        return f"during {rule.during!r} must be night, day or local hours such as 22:00-05:00"
    spec = KINDS[rule.kind]
    return spec.sensor_problem(sensor) or spec.check(rule)


def _duration_problem(field: str, text: str) -> str | None:
    try:
        ms = parse_duration_ms(text)
    except ValueError as exc:
        return f"{field}: {exc}"
    except OverflowError:
        ms = MAX_DURATION_MS + 1
    if ms > MAX_DURATION_MS:
        return f"{field} {text[:40]!r} is too long: at most 366d"
    return None


def _window_ok(text: str) -> bool:
    if text in ("night", "day"):
        return True
    try:
        parse_hours(text)
    except ValueError:
        return False
    return True


def parse_hours(text: str) -> tuple[int, int]:
    """`HH:MM-HH:MM` as minutes after local midnight; the end may be on the next day."""
    start, _, end = text.partition("-")
    return _minutes(start), _minutes(end)


def _minutes(text: str) -> int:
    hours, _, minutes = text.strip().partition(":")
    h, m = int(hours), int(minutes)
    if not (0 <= h < 24 and 0 <= m < 60):
        raise ValueError(text)
    return h * 60 + m


def parse_rules_text(
    text: str,
    source: str,
    catalog: Catalog,
    known: Known | None = None,
    default_actions: bool = False,
) -> list[Rule]:
    """A rules file: `[[rule]]` tables, and `include_defaults = true` to add the shipped ones."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RuleError(f"{source}: {exc}") from None
    entries = raw.get("rule", [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise RuleError(f"{source}: write each rule as a [[rule]] table")
    try:
        rules = [parse_rule(entry, catalog, known) for entry in entries]
    except RuleError as exc:
        raise RuleError(f"{source}: {exc}") from None
    if raw.get("include_defaults"):
        own = {r.id for r in rules}
        shipped = default_rules(catalog, default_actions)
        rules = [r for r in shipped if r.id not in own] + rules
    ids = [r.id for r in rules]
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    if repeated:
        raise RuleError(f"{source}: rule ids used twice: {', '.join(repeated)}")
    return rules


def default_rules(catalog: Catalog, actions: bool = False) -> list[Rule]:
    """The shipped rules that can apply with this catalog (a village's own catalog may lack
    some sensor types; their rules are left out rather than refused). Their actions (a
    siren) only with `actions` (the demo): which level sounds a real village's siren is for
    that village to write."""
    entries = tomllib.loads(_default_text())["rule"]
    usable = [
        e
        for e in entries
        if all(catalog.get(e[name]) is not None for name in ("sensor", "while_on") if name in e)
    ]
    if not actions:
        usable = [{k: v for k, v in e.items() if k != "actions"} for e in usable]
    try:
        return [parse_rule(entry, catalog) for entry in usable]
    except RuleError as exc:
        raise RuleError(f"shipped default rules: {exc}") from None


@cache
def _default_text() -> str:
    return resources.files("village_brain.alerts").joinpath("default_rules.toml").read_text("utf-8")


def load_rules(
    path: Path | None,
    catalog: Catalog,
    known: Known | None = None,
    default_actions: bool = False,
) -> list[Rule]:
    if path is None:
        return default_rules(catalog, default_actions)
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RuleError(f"rules file {path}: {exc}") from None
    return parse_rules_text(text, f"rules file {path}", catalog, known, default_actions)
