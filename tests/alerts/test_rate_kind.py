"""Rate of change over readings in reading time: gaps, late readings and spikes."""

from __future__ import annotations

import random

import pytest

from village_brain.alerts.evaluator import Change, Evaluator
from village_brain.alerts.kinds.base import Moment
from village_brain.alerts.kinds.rate import RateTracker
from village_brain.alerts.rules import parse_rule
from village_brain.core.catalog import default_catalog
from village_brain.core.records import Reading

MIN = 60_000
T0 = 1_800_000_000_000
CATALOG = default_catalog()
RISING = {
    "id": "fast",
    "name": "River rising fast",
    "severity": "warning",
    "kind": "rate",
    "sensor": "water_level",
    "rise": 0.2,
    "within": "10m",
}


def evaluator(**fields) -> Evaluator:
    return Evaluator([parse_rule({**RISING, **fields}, CATALOG)], CATALOG)


def feed(ev: Evaluator, *points: tuple[int, float]) -> list[str]:
    """Readings in the order they arrive; the actions they caused."""
    changes: list[Change] = []
    for at, value in points:
        changes += ev.readings([Reading("xs", "g1", "water_level", T0 + at, value)])
    return [c.action for c in changes]


def test_a_rise_inside_a_reporting_gap_fires_when_the_backlog_arrives():
    ev = evaluator()
    assert feed(ev, (0, 2.0)) == []
    # The gauge was cut off and sends its newest reading first, then the backlog.
    assert feed(ev, (12 * MIN, 2.45), (3 * MIN, 2.1), (6 * MIN, 2.25), (9 * MIN, 2.4)) == ["fire"]


def test_a_late_reading_does_not_resolve_a_firing_rise():
    ev = evaluator()
    assert feed(ev, (0, 2.0), (2 * MIN, 2.1), (4 * MIN, 2.25)) == ["fire"]
    # A reading from before the rise arrives late: it says nothing about now.
    assert feed(ev, (MIN, 2.0)) == []
    assert feed(ev, (5 * MIN, 2.3)) == []


def test_the_first_reading_after_a_gap_does_not_resolve_a_firing_rise():
    ev = evaluator()
    assert feed(ev, (0, 2.0), (2 * MIN, 2.1), (4 * MIN, 2.25)) == ["fire"]
    assert feed(ev, (20 * MIN, 2.45)) == []
    assert feed(ev, (22 * MIN, 2.45), (24 * MIN, 2.45)) == ["resolve"]


def test_without_protection_a_single_spike_fires_and_resolves():
    ev = evaluator()
    assert feed(ev, (0, 2.0), (MIN, 2.0), (2 * MIN, 2.6), (3 * MIN, 2.0)) == ["fire", "resolve"]


def test_with_min_points_a_single_spike_neither_fires_nor_resolves():
    ev = evaluator(min_points=2)
    assert feed(ev, (0, 2.0), (MIN, 2.0), (2 * MIN, 2.6), (3 * MIN, 2.0), (4 * MIN, 2.0)) == []


def test_with_min_points_a_rise_that_holds_fires_once():
    ev = evaluator(min_points=2)
    assert feed(ev, (0, 2.0), (MIN, 2.1), (2 * MIN, 2.25)) == []
    assert feed(ev, (3 * MIN, 2.3)) == ["fire"]
    assert feed(ev, (4 * MIN, 2.32)) == []


def test_a_resolved_rise_does_not_fire_again_from_the_same_move():
    ev = evaluator()
    assert feed(ev, (0, 2.0), (MIN, 2.3), (2 * MIN, 2.0)) == ["fire", "resolve"]
    assert feed(ev, (3 * MIN, 2.0), (4 * MIN, 2.05)) == []


def test_a_fall_rule_fires_on_a_drop():
    ev = evaluator(rise=None, fall=0.5)
    assert feed(ev, (0, 3.0), (5 * MIN, 2.4)) == ["fire"]


def test_the_same_reading_delivered_twice_counts_once():
    ev = evaluator(min_points=2)
    assert feed(ev, (0, 2.0), (MIN, 2.3), (MIN, 2.3)) == []


@pytest.mark.parametrize("fields", [{}, {"rise": None, "fall": 0.2}], ids=["rise", "fall"])
def test_each_reading_is_judged_against_its_whole_window_however_it_arrived(fields):
    # Readings in order are judged from a running lowest (highest) value, late ones by a
    # pass over the window: both must say what a pass over each reading's window says.
    rule = parse_rule({**RISING, **fields}, CATALOG)
    within = 10 * MIN
    tracker = RateTracker()
    rng = random.Random(7)
    at, level, checked = 0, 2.0, 0
    for n in range(3_000):
        at += 11 * MIN if rng.random() < 0.01 else rng.choice((1_000, 30_000, 60_000))
        late = rng.random() < 0.05
        ts = at - rng.randrange(1, 15) * MIN if late else at
        level += rng.uniform(-0.08, 0.08)  # moves near the rule's 0.2, both ways
        dip = rng.choice((-0.3, 0.3)) if late else 0.0  # a late reading can be the extreme
        tracker.reading(rule, T0 + ts, level + dip, Moment())
        if n % 50 == 49:
            times = tracker.times
            whole = [i for i, t in enumerate(times) if t - within >= times[0]]
            judged = [tracker._judge(rule, i, within) for i in whole]
            assert [tracker.flags[i] for i in whole] == judged
            checked += len(whole)
    assert checked > 1_000
