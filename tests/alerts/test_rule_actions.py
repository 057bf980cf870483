"""Rule actions with real SQLite stores, a real control stage and a simulated clock: which
commands an alert's transitions send, and what becomes of them on its timeline."""

from __future__ import annotations

from pathlib import Path

import pytest

from village_brain.alerts.actions import alert_of, command_id
from village_brain.alerts.command_watch import COMMAND_RULE
from village_brain.alerts.engine import AlertEngine
from village_brain.alerts.rules import Known, RuleError, default_rules, parse_rule
from village_brain.control.records import CommandRequest, CommandResult, Origin
from village_brain.control.stage import ControlStage, Timing
from village_brain.control.store import CommandStore
from village_brain.control.wire import OutgoingCommand
from village_brain.core.bus import Bus
from village_brain.core.catalog import default_catalog
from village_brain.core.config import AlertSettings
from village_brain.core.devices import Device
from village_brain.core.records import Reading
from village_brain.store.registry import BatchRecord, RegistryStore

MIN = 60_000
T0 = 1_800_000_000_000
RULES = """
[[rule]]
id = "river_danger"
name = "河道水位超过危险线"
severity = "critical"
kind = "threshold"
sensor = "water_level"
above = 3.2
clear_below = 3.1

[[rule.actions]]
target = "siren_state"
value = "on"
device_kind = "siren"
cooldown = "30m"

[[rule.actions]]
on = "resolved"
target = "siren_state"
value = "off"
device_kind = "siren"
"""
DEVICES = [
    Device("g1", "xs", kind="river_gauge", place="石桥", sensors=("water_level",)),
    Device("siren-1", "xs", kind="siren", place="村委会", sensors=("siren_state",)),
    Device("siren-far", "other", kind="siren", sensors=("siren_state",)),
]
BASE = {
    "id": "r",
    "name": "r",
    "severity": "critical",
    "kind": "threshold",
    "sensor": "water_level",
    "above": 3.0,
}


class Clock:
    def __init__(self) -> None:
        self.ms = T0

    def __call__(self) -> int:
        return self.ms


class Wire:
    def __init__(self) -> None:
        self.sent: list[OutgoingCommand] = []

    def __call__(self, command: OutgoingCommand) -> bool:
        self.sent.append(command)
        return True


class World:
    """An alert engine and a control stage on one data dir, as the service wires them."""

    def __init__(self, tmp_path: Path, clock: Clock, rules: str = RULES) -> None:
        self.tmp_path, self.clock, self.wire = tmp_path, clock, Wire()
        rules_file = tmp_path / "rules.toml"
        rules_file.write_text(rules, "utf-8")
        self.registry = RegistryStore(tmp_path / "registry.sqlite3")
        self.registry.upsert_devices(DEVICES)
        bus = Bus()
        self.engine = AlertEngine(
            AlertSettings(rules_file=rules_file),
            default_catalog(),
            self.registry,
            bus,
            tmp_path / "alerts.sqlite3",
            clock=clock,
        )
        self.stage = ControlStage(
            CommandStore(tmp_path / "control.sqlite3"),
            default_catalog(),
            lambda d: (row := self.registry.device(d)) and row.device,
            self.wire,
            Timing(default_expiry_ms=60_000, max_expiry_ms=3_600_000, done_timeout_ms=30_000),
            bus=bus,
            clock=clock,
        )
        self.engine.use_control(self.stage)

    def level(self, value: float, minutes: float = 0) -> None:
        self.clock.ms = T0 + int(minutes * MIN)
        reading = Reading("xs", "g1", "water_level", self.clock.ms, value)
        self.engine.on_batch([reading], BatchRecord())
        self.settle()

    def settle(self) -> None:
        self.stage.sweep()
        self.engine.tick(self.clock.ms)

    def answer(self, command_id: str, status: str, **kw) -> None:
        result = CommandResult("xs", "siren-1", command_id, status, self.clock.ms, **kw)  # type: ignore[arg-type]
        self.stage.on_results([result])
        self.engine.tick(self.clock.ms)

    def siren_commands(self) -> list:
        return list(reversed(self.stage.for_device("siren-1")))

    def alert(self, rule_id: str = "river_danger"):
        return next(a for a in self.engine.store.alerts() if a.rule_id == rule_id)

    def timeline(self, rule_id: str = "river_danger") -> list[tuple[str, str]]:
        entries = self.engine.store.timeline(self.alert(rule_id).id)
        return [(e.kind, e.comment or "") for e in entries]

    def close(self) -> None:
        self.engine.stop()
        self.stage.store.close()
        self.registry.close()


@pytest.fixture
def world(tmp_path):
    made = World(tmp_path, Clock())
    yield made
    made.close()


# --- the rule's actions as written ------------------------------------------------------


def refused(action: dict, known: Known | None = None) -> str:
    with pytest.raises(RuleError) as caught:
        parse_rule({**BASE, "actions": [action]}, default_catalog(), known)
    return str(caught.value)


def test_an_action_on_a_target_that_cannot_be_commanded_is_refused():
    assert "target must be one of" in refused({"target": "water_level", "devices": ["s"]})


def test_an_action_with_a_value_the_catalog_does_not_allow_is_refused():
    assert "siren_state" in refused({"target": "siren_state", "value": "loud", "devices": ["s"]})
    assert "outside" in refused({"target": "sluice_position", "value": 140, "devices": ["s"]})


def test_an_action_that_names_no_devices_is_refused():
    assert "say which devices" in refused({"target": "siren_state", "value": "on"})


def test_an_action_naming_a_device_nobody_registered_is_refused():
    known = Known({"siren-1": ("xs", "siren", "村委会")})
    problem = refused({"target": "siren_state", "value": "on", "devices": ["siren-9"]}, known)
    assert "no device 'siren-9' is registered" in problem
    problem = refused({"target": "siren_state", "value": "on", "device_kind": "horn"}, known)
    assert "no registered device matches 'horn'" in problem


def test_an_action_with_an_unknown_field_is_refused():
    assert "loudness" in refused({"target": "siren_state", "value": "on", "loudness": 3})


def test_a_good_action_is_kept_as_written():
    action = {"target": "lamp_state", "value": "on", "place": "same", "expires_in": "2m"}
    rule = parse_rule({**BASE, "actions": [action]}, default_catalog())
    assert (rule.actions[0].on, rule.actions[0].expires_in_ms) == ("fired", 120_000)


def test_the_shipped_siren_action_applies_only_when_asked_for_the_demo():
    def danger(actions: bool):
        rules = default_rules(default_catalog(), actions)
        return next(r for r in rules if r.id == "river_danger")

    assert danger(False).actions == ()
    assert [(a.on, a.value) for a in danger(True).actions] == [("fired", "on"), ("resolved", "off")]


# --- sending ------------------------------------------------------------------------------


def test_a_river_above_the_line_sends_siren_on_to_the_villages_siren_only(world):
    world.level(3.5)
    (command,) = world.siren_commands()
    assert (command.target, command.value, command.state) == ("siren_state", "on", "sent")
    assert command.origin == Origin("rule:river_danger", "alerts", command.origin.why)
    assert alert_of(command) == world.alert().id
    assert world.stage.for_device("siren-far") == []
    assert [k for k, _ in world.timeline()] == ["fired", "command_sent"]


def test_the_same_transition_run_again_sends_nothing_new(world):
    world.level(3.5)
    rule = world.engine.evaluator.rules["river_danger"]
    world.engine.actions.run("fired", world.alert(), rule)
    world.engine.actions.catch_up(world.engine.evaluator.rules)
    world.settle()
    assert len(world.siren_commands()) == 1
    assert [k for k, _ in world.timeline()] == ["fired", "command_sent"]


def test_the_command_id_is_made_from_alert_transition_action_and_device(world):
    world.level(3.5)
    alert = world.alert()
    assert world.siren_commands()[0].id == command_id(alert, "fired", 0, "siren-1")
    assert command_id(alert, "fired", 0, "siren-1") != command_id(alert, "fired", 0, "siren-2")


def test_the_devices_answer_puts_done_on_the_alerts_timeline(world):
    world.level(3.5)
    (command,) = world.siren_commands()
    world.answer(command.id, "accepted")
    world.answer(command.id, "done", state={"siren_state": "on"})
    world.engine.tick(world.clock.ms)  # heard again: written once
    kinds = [k for k, _ in world.timeline()]
    assert kinds == ["fired", "command_sent", "command_done"]
    assert f"siren-1 siren_state=on [{command.id}]" in world.timeline()[-1][1]


def test_the_resolution_switches_the_siren_off(world):
    world.level(3.5)
    world.level(3.0, minutes=5)
    values = [(c.value, alert_of(c)) for c in world.siren_commands()]
    assert values == [("on", world.alert().id), ("off", world.alert().id)]


def test_an_action_within_its_cooldown_is_not_sent_again(world):
    world.level(3.5)
    world.level(3.0, minutes=5)
    world.level(3.6, minutes=10)  # fires again 10 minutes on; the cooldown is 30
    assert [c.value for c in world.siren_commands()] == ["on", "off"]
    latest = world.timeline()
    assert latest[-1][0] == "command_skipped" and "cooldown (30m)" in latest[-1][1]
    world.level(3.0, minutes=15)
    world.level(3.6, minutes=45)
    assert [c.value for c in world.siren_commands()] == ["on", "off", "off", "on"]


def test_a_person_who_switched_the_siren_off_is_not_overruled_at_resolution(world):
    world.level(3.5)
    world.answer(world.siren_commands()[0].id, "done")
    world.clock.ms += MIN
    person = Origin("wang", "127.0.0.1", "the river is falling; the siren scares the school")
    world.stage.send(CommandRequest("siren-1", "siren_state", "off"), by=person)
    world.level(3.0, minutes=5)
    assert [(c.value, c.origin.by) for c in world.siren_commands()] == [
        ("on", "rule:river_danger"),
        ("off", "wang"),
    ]
    kind, comment = world.timeline()[-1]
    assert kind == "command_skipped" and "wang commanded it by hand" in comment


def test_a_replay_after_a_person_commanded_the_siren_sends_nothing_new(world):
    world.level(3.5)
    (ours,) = world.siren_commands()
    person = Origin("wang", "127.0.0.1", "test")
    world.clock.ms += MIN
    world.stage.send(CommandRequest("siren-1", "siren_state", "off"), by=person)
    # The rule's own command was sent already: a replay after a restart sends nothing.
    world.engine.actions.catch_up(world.engine.evaluator.rules)
    assert [c.id for c in world.siren_commands() if c.origin.by != "wang"] == [ours.id]


def test_an_alert_older_than_the_actions_expiry_sends_nothing(world):
    world.clock.ms = T0 + 60 * MIN
    old = Reading("xs", "g1", "water_level", T0, 3.5)  # history replayed an hour late
    world.engine.on_batch([old], BatchRecord())
    world.settle()
    assert world.siren_commands() == []
    assert world.timeline()[-1][0] == "command_skipped"


# --- outcomes -----------------------------------------------------------------------------


def test_a_failed_siren_command_is_on_the_timeline_and_raises_its_own_alert(world):
    world.level(3.5)
    (command,) = world.siren_commands()
    world.answer(command.id, "failed", reason="relay stuck")
    kind, comment = world.timeline()[-1]
    assert kind == "command_failed" and comment.endswith("failed: relay stuck")
    safety = world.alert(COMMAND_RULE)
    assert (safety.state, safety.severity, safety.device) == ("firing", "critical", "siren-1")
    assert "relay stuck" in safety.message


def test_a_later_done_command_resolves_the_failed_safety_commands_alert(world):
    world.level(3.5)
    (command,) = world.siren_commands()
    world.answer(command.id, "failed", reason="relay stuck")
    world.clock.ms += MIN
    person = Origin("wang", "127.0.0.1", "trying again")
    again, _ = world.stage.send(CommandRequest("siren-1", "siren_state", "on"), by=person)
    world.settle()
    world.answer(again.id, "done")
    assert world.alert(COMMAND_RULE).state == "resolved"


def test_an_expired_lamp_command_raises_no_alert(world):
    world.registry.upsert_devices([Device("lamp-1", "xs", sensors=("lamp_state",))])
    lamp, _ = world.stage.send(
        CommandRequest("lamp-1", "lamp_state", "on", expires_in_ms=1000), by=Origin("wang")
    )
    world.settle()
    world.clock.ms += 2000
    world.settle()
    assert world.stage.get(lamp.id).state == "expired"
    assert [a.rule_id for a in world.engine.store.alerts()] == []


def test_a_restart_between_fired_and_done_sends_no_second_command(tmp_path):
    clock = Clock()
    first = World(tmp_path, clock)
    first.level(3.5)
    (command,) = first.siren_commands()
    first.close()
    again = World(tmp_path, clock)
    try:
        again.settle()
        again.answer(command.id, "done")
        assert [c.id for c in again.siren_commands()] == [command.id]
        assert [k for k, _ in again.timeline()] == ["fired", "command_sent", "command_done"]
    finally:
        again.close()


def test_steps_taken_while_the_alerts_were_down_reach_the_timeline_at_start(tmp_path):
    clock = Clock()
    first = World(tmp_path, clock)
    first.level(3.5)
    (command,) = first.siren_commands()
    first.engine.stop()
    # The answer arrives while no engine listens (its bus notice is lost with it).
    first.stage.store.move(command.id, "done", clock.ms)
    first.stage.store.close()
    first.registry.close()
    again = World(tmp_path, clock)
    try:
        assert [k for k, _ in again.timeline()] == ["fired", "command_sent", "command_done"]
    finally:
        again.close()
