"""Rules files and rules from the API: what is accepted, and what is refused with a reason."""

from __future__ import annotations

import pytest

from village_brain.alerts.rules import RuleError, default_rules, parse_rule, parse_rules_text
from village_brain.core.catalog import default_catalog

CATALOG = default_catalog()


def test_the_shipped_rules_cover_river_fire_lamps_soil_batteries_and_silence():
    rules = {r.id: r for r in default_rules(CATALOG)}
    assert {
        "river_warning",
        "river_danger",
        "smoke_detected",
        "gas_detected",
        "lamp_dark_at_night",
        "lamp_on_by_day",
        "lamp_no_power",
        "soil_too_dry",
        "battery_low",
        "device_offline",
    } <= set(rules)
    assert rules["soil_too_dry"].for_ms == 6 * 3_600_000


def test_for_is_read_from_the_file_key_for():
    text = """
    [[rule]]
    id = "r"
    name = "R"
    severity = "major"
    kind = "threshold"
    sensor = "water_level"
    above = 2.0
    for = "5m"
    """
    assert parse_rules_text(text, "test", CATALOG)[0].for_ms == 300_000


def test_a_file_with_include_defaults_adds_and_replaces_shipped_rules():
    text = """
    include_defaults = true
    [[rule]]
    id = "river_warning"
    name = "下山桥 警戒水位"
    severity = "major"
    kind = "threshold"
    sensor = "water_level"
    above = 1.8
    """
    rules = {r.id: r for r in parse_rules_text(text, "test", CATALOG)}
    assert rules["river_warning"].above == 1.8
    assert "smoke_detected" in rules


@pytest.mark.parametrize(
    ("fields", "says"),
    [
        ({"kind": "threshold", "sensor": "water_level"}, "exactly one of above or below"),
        ({"kind": "threshold", "sensor": "no_such", "above": 1}, "not in the catalog"),
        ({"kind": "threshold", "sensor": "water_level", "above": 1, "for": "soon"}, "duration"),
        ({"kind": "threshold", "sensor": "water_level", "above": 1, "clear_below": 2}, "clear"),
        ({"kind": "rate", "sensor": "water_level", "rise": 0.2}, "within"),
        ({"kind": "event"}, "event type"),
        ({"kind": "boolean", "sensor": "smoke"}, "equals"),
        ({"kind": "threshold", "sensor": "water_level", "above": 1, "during": "noon"}, "night"),
        ({"kind": "threshold", "sensor": "water_level", "above": 1, "colour": "red"}, "colour"),
    ],
)
def test_an_unusable_rule_is_refused_with_the_reason(fields, says):
    with pytest.raises(RuleError, match=says):
        parse_rule({"id": "bad", "name": "Bad", "severity": "major", **fields}, CATALOG)


def test_a_rule_id_used_twice_in_a_file_is_refused():
    rule = '[[rule]]\nid = "a"\nname = "A"\nseverity = "info"\nkind = "no_data"\n'
    with pytest.raises(RuleError, match="used twice"):
        parse_rules_text(rule + rule, "test", CATALOG)


RIVER = {"id": "river", "name": "River", "severity": "major", "kind": "threshold"}


@pytest.mark.parametrize("literal", ["nan", "inf", "-inf"])
def test_a_rules_file_threshold_that_is_not_a_finite_number_is_refused(literal):
    text = f"""
    [[rule]]
    id = "river"
    name = "River"
    severity = "major"
    kind = "threshold"
    sensor = "water_level"
    above = {literal}
    """
    with pytest.raises(RuleError, match="above must be a finite number"):
        parse_rules_text(text, "rules file test.toml", CATALOG)


@pytest.mark.parametrize(
    ("fields", "says"),
    [
        ({"sensor": "water_level", "below": float("nan")}, "below must be a finite number"),
        ({"sensor": "water_level", "above": 2, "clear_below": float("-inf")}, "clear_below"),
        ({"kind": "rate", "sensor": "water_level", "rise": float("inf"), "within": "1m"}, "rise"),
    ],
)
def test_every_number_of_a_rule_must_be_finite(fields, says):
    with pytest.raises(RuleError, match=says):
        parse_rule({**RIVER, **fields}, CATALOG)


@pytest.mark.parametrize("text", ['"river\\n"', '"""river\n"""'])
def test_a_rules_file_id_ending_in_a_line_break_is_refused(text):
    rule = f'[[rule]]\nid = {text}\nname = "R"\nseverity = "info"\nkind = "no_data"\n'
    with pytest.raises(RuleError, match="line break"):
        parse_rules_text(rule, "rules file test.toml", CATALOG)


@pytest.mark.parametrize(
    ("field", "duration"),
    [("for", "9" * 400 + "s"), ("for", "367d"), ("repeat_every", "100w"), ("silent_for", "1e9")],
)
def test_a_duration_beyond_a_year_or_unreadable_is_refused_with_a_reason(field, duration):
    with pytest.raises(RuleError, match=field):
        parse_rule({**RIVER, "sensor": "water_level", "above": 2, field: duration}, CATALOG)


def test_a_year_is_the_longest_duration_accepted():
    rule = parse_rule({**RIVER, "sensor": "water_level", "above": 2, "for": "366d"}, CATALOG)
    assert rule.for_ms == 366 * 86_400_000


@pytest.mark.parametrize(("field", "value"), [("device", "Gauge-1"), ("village", "xiashan\n")])
def test_a_scope_that_breaks_the_id_rule_is_refused(field, value):
    with pytest.raises(RuleError, match=f"{field} id"):
        parse_rule({**RIVER, "sensor": "water_level", "above": 2, field: value}, CATALOG)


def test_a_rules_file_whose_rule_is_not_a_table_is_refused():
    with pytest.raises(RuleError, match=r"as a \[\[rule\]\] table"):
        parse_rules_text('rule = "river"\n', "rules file test.toml", CATALOG)
