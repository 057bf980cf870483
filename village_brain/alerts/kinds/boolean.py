"""Boolean rules: a true/false sensor reading `equals`, held `for` (smoke, a lamp left off)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from village_brain.alerts.kinds.base import KindSpec
from village_brain.alerts.kinds.level import LevelTracker

if TYPE_CHECKING:
    from village_brain.alerts.rules import Rule


def verdict(rule: Rule, value: float) -> bool | None:
    return (value >= 0.5) == rule.equals


def check(rule: Rule) -> str | None:
    if rule.equals is None:
        return "a boolean rule needs equals = true or false"
    return None


def _load(rule: Rule, state: dict[str, Any]) -> LevelTracker:
    return LevelTracker.load(verdict, state)


SPEC = KindSpec(
    name="boolean",
    feed="readings",
    fields=frozenset({"equals", "for_", "during", "while_on"}),
    sensor_kinds=frozenset({"boolean"}),
    sensor_required=True,
    check=check,
    new=lambda rule, at_ms: LevelTracker(verdict),
    load=_load,
    firing=lambda rule, at_ms: LevelTracker(verdict, firing=True),
)
