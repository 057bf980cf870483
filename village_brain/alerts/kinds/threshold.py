"""Threshold rules: a number past a line (`above` or `below`), held `for`, with a clear level."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from village_brain.alerts.kinds.base import KindSpec
from village_brain.alerts.kinds.level import LevelTracker

if TYPE_CHECKING:
    from village_brain.alerts.rules import Rule


def verdict(rule: Rule, value: float) -> bool | None:
    if rule.above is not None:
        if value > rule.above:
            return True
        return None if rule.clear_below is not None and value >= rule.clear_below else False
    assert rule.below is not None
    if value < rule.below:
        return True
    return None if rule.clear_above is not None and value <= rule.clear_above else False


def check(rule: Rule) -> str | None:
    if (rule.above is None) == (rule.below is None):
        return "a threshold rule needs exactly one of above or below"
    if rule.above is not None and rule.clear_above is not None:
        return "clear_above goes with below; with above, write clear_below"
    if rule.below is not None and rule.clear_below is not None:
        return "clear_below goes with above; with below, write clear_above"
    if rule.above is not None and rule.clear_below is not None and rule.clear_below > rule.above:
        return "clear_below must not be above the `above` level"
    if rule.below is not None and rule.clear_above is not None and rule.clear_above < rule.below:
        return "clear_above must not be below the `below` level"
    return None


def _load(rule: Rule, state: dict[str, Any]) -> LevelTracker:
    return LevelTracker.load(verdict, state)


SPEC = KindSpec(
    name="threshold",
    feed="readings",
    fields=frozenset(
        {"above", "below", "clear_below", "clear_above", "for_", "during", "while_on"}
    ),
    sensor_kinds=frozenset({"number"}),
    sensor_required=True,
    check=check,
    new=lambda rule, at_ms: LevelTracker(verdict),
    load=_load,
    firing=lambda rule, at_ms: LevelTracker(verdict, firing=True),
)
