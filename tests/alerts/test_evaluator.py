"""The evaluator over simulated time: `for`, hysteresis, rates, silence, events, windows."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from village_brain.alerts.evaluator import Change, Evaluator
from village_brain.alerts.rules import parse_rule
from village_brain.core.catalog import default_catalog
from village_brain.core.records import Reading
from village_brain.store.registry import Event

MIN = 60_000
T0 = 1_800_000_000_000
CATALOG = default_catalog()


def evaluator(*rules: dict, **kwargs) -> Evaluator:
    return Evaluator([parse_rule(r, CATALOG) for r in rules], CATALOG, **kwargs)


def level(ev: Evaluator, value: float, at: int, device: str = "g1", village: str = "xs") -> list:
    return ev.readings([Reading(village, device, "water_level", at, value)])


def actions(changes: list[Change]) -> list[str]:
    return [c.action for c in changes]


WARNING = {
    "id": "warn",
    "name": "River above the warning line",
    "severity": "major",
    "kind": "threshold",
    "sensor": "water_level",
    "above": 2.5,
    "clear_below": 2.4,
}


def test_a_breach_fires_only_once_it_has_held_for_the_duration():
    ev = evaluator({**WARNING, "for": "2m"})
    assert level(ev, 2.6, T0) == []
    assert level(ev, 2.7, T0 + MIN) == []
    assert actions(level(ev, 2.7, T0 + 2 * MIN)) == ["fire"]


def test_a_breach_shorter_than_the_duration_never_fires():
    ev = evaluator({**WARNING, "for": "2m"})
    level(ev, 2.6, T0)
    level(ev, 2.3, T0 + MIN)
    assert level(ev, 2.6, T0 + 2 * MIN) == []
    assert ev.tick(T0 + 3 * MIN) == []


def test_the_clock_fires_a_held_breach_when_no_reading_says_otherwise():
    ev = evaluator({**WARNING, "for": "2m"})
    level(ev, 2.6, T0)
    assert ev.tick(T0 + MIN) == []
    assert actions(ev.tick(T0 + 2 * MIN)) == ["fire"]
    assert ev.tick(T0 + 3 * MIN) == []


def test_a_value_hovering_at_the_line_fires_once_and_does_not_flap():
    ev = evaluator(WARNING)
    changes = []
    for i, value in enumerate([2.51, 2.49, 2.52, 2.45, 2.55, 2.41, 2.6]):
        changes += level(ev, value, T0 + i * MIN)
    assert actions(changes) == ["fire"]


def test_an_alert_resolves_only_below_the_clear_level():
    ev = evaluator(WARNING)
    level(ev, 2.6, T0)
    assert level(ev, 2.45, T0 + MIN) == []
    resolved = level(ev, 2.39, T0 + 2 * MIN)
    assert actions(resolved) == ["resolve"]
    assert resolved[0].value == 2.39


def test_a_backfilled_reading_does_not_change_the_state():
    ev = evaluator(WARNING)
    level(ev, 2.6, T0)
    assert level(ev, 1.0, T0 - 10 * MIN) == []
    assert ev.firing() == {("warn", "g1", "water_level")}


def test_a_fast_rise_fires_a_rate_rule_and_a_slow_one_does_not():
    rule = {
        "id": "fast",
        "name": "River rising fast",
        "severity": "warning",
        "kind": "rate",
        "sensor": "water_level",
        "rise": 0.2,
        "within": "10m",
    }
    slow, fast = evaluator(rule), evaluator(rule)
    slow_changes, fast_changes = [], []
    for i in range(6):
        slow_changes += level(slow, 1.0 + 0.05 * i, T0 + i * 5 * MIN)
        fast_changes += level(fast, 1.0 + 0.12 * i, T0 + i * 5 * MIN)
    assert slow_changes == []
    assert actions(fast_changes) == ["fire"]


def test_a_silent_device_fires_after_its_limit_and_resolves_when_it_speaks():
    ev = evaluator(
        {
            "id": "quiet",
            "name": "Silent",
            "severity": "major",
            "kind": "no_data",
            "silent_for": "30m",
        }
    )
    ev.seen("g1", "xs", T0)
    assert ev.tick(T0 + 30 * MIN) == []
    fired = ev.tick(T0 + 31 * MIN)
    assert [(c.action, c.device, c.village) for c in fired] == [("fire", "g1", "xs")]
    assert actions(ev.seen("g1", "xs", T0 + 40 * MIN)) == ["resolve"]


def test_the_default_silence_limit_is_three_report_intervals():
    ev = evaluator({"id": "quiet", "name": "Silent", "severity": "major", "kind": "no_data"})
    level(ev, 1.0, T0)  # water_level reports every 5 minutes
    ev.seen("g1", "xs", T0)
    assert ev.tick(T0 + 15 * MIN) == []
    assert actions(ev.tick(T0 + 16 * MIN)) == ["fire"]


def test_an_offline_status_fires_at_once_and_online_resolves():
    ev = evaluator({"id": "off", "name": "Offline", "severity": "major", "kind": "no_data"})
    fired = ev.status("g1", "xs", "offline", T0)
    assert [(c.action, c.reason) for c in fired] == [("fire", "offline")]
    assert ev.status("g1", "xs", "offline", T0 + MIN) == []
    assert actions(ev.status("g1", "xs", "online", T0 + 2 * MIN)) == ["resolve"]


SMOKE = {
    "id": "smoke",
    "name": "Smoke",
    "severity": "critical",
    "kind": "boolean",
    "sensor": "smoke",
    "equals": True,
}


def test_smoke_fires_on_the_first_true_reading():
    ev = evaluator(SMOKE)
    assert ev.readings([Reading("xs", "s1", "smoke", T0, 0.0)]) == []
    assert actions(ev.readings([Reading("xs", "s1", "smoke", T0 + 1, 1.0)])) == ["fire"]
    assert actions(ev.readings([Reading("xs", "s1", "smoke", T0 + 2, 0.0)])) == ["resolve"]


def test_an_event_rule_fires_once_and_resolves_after_a_quiet_spell():
    ev = evaluator(
        {
            "id": "alarm",
            "name": "Smoke alarm",
            "severity": "critical",
            "kind": "event",
            "event": "smoke_alarm",
            "clear_after": "30m",
        }
    )
    fired = ev.events([Event("xs", "s1", T0, "smoke_alarm"), Event("xs", "s1", T0 + 1, "door")])
    assert [(c.action, c.subject) for c in fired] == [("fire", "smoke_alarm")]
    assert ev.events([Event("xs", "s1", T0 + 10 * MIN, "smoke_alarm")]) == []
    assert ev.tick(T0 + 39 * MIN) == []
    assert actions(ev.tick(T0 + 40 * MIN)) == ["resolve"]


def at_shanghai(hour: int, minute: int = 0) -> int:
    local = datetime(2027, 1, 15, hour, minute, tzinfo=ZoneInfo("Asia/Shanghai"))
    return round(local.timestamp() * 1000)


DARK = {
    "id": "dark",
    "name": "Lamp off at night",
    "severity": "major",
    "kind": "boolean",
    "sensor": "lamp_state",
    "equals": False,
    "during": "night",
}


def test_a_lamp_off_at_night_fires_and_the_same_by_day_does_not():
    night, day = evaluator(DARK), evaluator(DARK)
    assert actions(night.readings([Reading("xs", "l1", "lamp_state", at_shanghai(22), 0.0)])) == [
        "fire"
    ]
    assert day.readings([Reading("xs", "l1", "lamp_state", at_shanghai(13), 0.0)]) == []


def test_a_night_alert_resolves_when_the_night_is_over():
    ev = evaluator(DARK)
    ev.readings([Reading("xs", "l1", "lamp_state", at_shanghai(5), 0.0)])
    resolved = ev.readings([Reading("xs", "l1", "lamp_state", at_shanghai(7), 0.0)])
    assert actions(resolved) == ["resolve"]


NO_POWER = {
    "id": "nopower",
    "name": "Lamp on without power",
    "severity": "major",
    "kind": "threshold",
    "sensor": "lamp_power",
    "below": 1.0,
    "clear_above": 5.0,
    "while_on": "lamp_state",
}


def test_zero_power_is_a_fault_only_while_the_lamp_is_switched_on():
    ev = evaluator(NO_POWER)
    off = [Reading("xs", "l1", "lamp_state", T0, 0.0), Reading("xs", "l1", "lamp_power", T0, 0.0)]
    assert ev.readings(off) == []
    on = [
        Reading("xs", "l1", "lamp_power", T0 + MIN, 0.0),
        Reading("xs", "l1", "lamp_state", T0 + MIN, 1.0),
    ]
    assert actions(ev.readings(on)) == ["fire"]


def test_a_village_scoped_rule_ignores_other_villages():
    ev = evaluator({**WARNING, "village": "xs"})
    assert level(ev, 3.0, T0, village="other") == []
    assert actions(level(ev, 3.0, T0, village="xs")) == ["fire"]


def test_a_place_scoped_rule_watches_only_devices_at_that_place():
    places = {"g1": "north-bridge", "g2": "mill"}
    ev = evaluator({**WARNING, "place": "mill"}, place_of=places.__getitem__)
    assert level(ev, 3.0, T0, device="g1") == []
    assert actions(level(ev, 3.0, T0, device="g2")) == ["fire"]


def test_removing_a_rule_hands_back_its_firing_alerts():
    ev = evaluator(WARNING)
    level(ev, 3.0, T0)
    assert ev.set_rules([]) == [("warn", "g1", "water_level")]
    assert level(ev, 3.0, T0 + MIN) == []


def test_restored_alerts_do_not_fire_again():
    ev = evaluator(WARNING)
    ev.restore([(("warn", "g1", "water_level"), "xs")], T0)
    assert level(ev, 3.0, T0) == []
    assert actions(level(ev, 2.0, T0 + MIN)) == ["resolve"]
