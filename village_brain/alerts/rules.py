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

from village_brain.core.catalog import Catalog
from village_brain.core.ids import id_problem
from village_brain.core.timefmt import parse_duration_ms

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


class Rule(msgspec.Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    id: str
    name: str
    severity: Severity
    kind: Kind
    # Scope: which readings the rule looks at. Unset parts match everything.
    sensor: str | None = None
    village: str | None = None
    device: str | None = None
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

    @property
    def for_ms(self) -> int:
        return duration_ms(self.for_) if self.for_ else 0


# Rules are read on every reading they watch: parse each duration text once.
duration_ms = cache(parse_duration_ms)


class RuleError(ValueError):
    """A rule that cannot be used; the message says which rule and what to fix."""


def parse_rule(raw: dict[str, Any], catalog: Catalog) -> Rule:
    where = f"rule {str(raw.get('id', '(no id)'))[:64]!r}"
    try:
        rule = msgspec.convert(raw, Rule)
    except msgspec.ValidationError as exc:
        raise RuleError(f"{where}: {exc}") from None
    problem = _id_problem("rule", rule.id) or _problem(rule, catalog)
    if problem:
        raise RuleError(f"{where}: {problem}")
    return rule


def _id_problem(kind: str, text: str) -> str | None:
    problem = id_problem(kind, text)
    # The id pattern ends in `$`, which also matches before a final line break.
    if problem is None and text.endswith("\n"):
        return f"{kind} id {text!r} ends with a line break"
    return problem


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
    for kind, text in (("village", rule.village), ("device", rule.device)):
        if text is not None and (problem := _id_problem(kind, text)):
            return problem
    if rule.sensor is not None and catalog.get(rule.sensor) is None:
        return f"sensor type {rule.sensor!r} is not in the catalog"
    if rule.while_on is not None and catalog.get(rule.while_on) is None:
        return f"while_on sensor {rule.while_on!r} is not in the catalog"
    if rule.during is not None and not _window_ok(rule.during):
        return f"during {rule.during!r} must be night, day or local hours such as 22:00-05:00"
    return _KIND_CHECKS[rule.kind](rule)


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


def _check_threshold(rule: Rule) -> str | None:
    if rule.sensor is None:
        return "a threshold rule needs a sensor"
    if (rule.above is None) == (rule.below is None):
        return "a threshold rule needs exactly one of above or below"
    if rule.above is not None and rule.clear_below is not None and rule.clear_below > rule.above:
        return "clear_below must not be above the `above` level"
    if rule.below is not None and rule.clear_above is not None and rule.clear_above < rule.below:
        return "clear_above must not be below the `below` level"
    return None


def _check_boolean(rule: Rule) -> str | None:
    if rule.sensor is None or rule.equals is None:
        return "a boolean rule needs a sensor and equals = true or false"
    return None


def _check_rate(rule: Rule) -> str | None:
    if rule.sensor is None or rule.within is None:
        return "a rate rule needs a sensor and within (such as 10m)"
    if (rule.rise is None) == (rule.fall is None):
        return "a rate rule needs exactly one of rise or fall"
    if (rule.rise or rule.fall or 0) <= 0:
        return "rise or fall must be more than zero"
    return None


def _check_no_data(rule: Rule) -> str | None:
    return None


def _check_event(rule: Rule) -> str | None:
    if rule.event is None:
        return "an event rule needs event (the event type, such as smoke_alarm)"
    return _id_problem("event type", rule.event)


_KIND_CHECKS = {
    "threshold": _check_threshold,
    "boolean": _check_boolean,
    "rate": _check_rate,
    "no_data": _check_no_data,
    "event": _check_event,
}


def parse_rules_text(text: str, source: str, catalog: Catalog) -> list[Rule]:
    """A rules file: `[[rule]]` tables, and `include_defaults = true` to add the shipped ones."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RuleError(f"{source}: {exc}") from None
    entries = raw.get("rule", [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise RuleError(f"{source}: write each rule as a [[rule]] table")
    try:
        rules = [parse_rule(entry, catalog) for entry in entries]
    except RuleError as exc:
        raise RuleError(f"{source}: {exc}") from None
    if raw.get("include_defaults"):
        own = {r.id for r in rules}
        rules = [r for r in default_rules(catalog) if r.id not in own] + rules
    ids = [r.id for r in rules]
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    if repeated:
        raise RuleError(f"{source}: rule ids used twice: {', '.join(repeated)}")
    return rules


def default_rules(catalog: Catalog) -> list[Rule]:
    return parse_rules_text(_default_text(), "shipped default rules", catalog)


@cache
def _default_text() -> str:
    return resources.files("village_brain.alerts").joinpath("default_rules.toml").read_text("utf-8")


def load_rules(path: Path | None, catalog: Catalog) -> list[Rule]:
    if path is None:
        return default_rules(catalog)
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RuleError(f"rules file {path}: {exc}") from None
    return parse_rules_text(text, f"rules file {path}", catalog)
