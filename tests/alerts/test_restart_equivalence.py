"""A restart changes no alert's outcome, for every rule kind.

Each scenario runs the same readings, events and clock twice — once straight through, once
with the engine stopped and opened again in the middle — and both runs must give the same
alert changes at the same times and the same notifications. Each scenario also states the
outcome itself, so a run where nothing happens cannot pass for an equal one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from restart_world import MIN, T0, Step, World, event, reading

from village_brain.core.devices import Device

S = 1_000


def rule(body: str) -> str:
    return f'[[rule]]\nname = "a rule"\nseverity = "major"\n{body}\n'


@dataclass
class Scenario:
    rules: str
    script: list[tuple[int, Step]]
    restart_at: int
    until: int
    expected: list[tuple[str, str, int]]  # (rule, what, when)
    devices: list[Device] = field(default_factory=lambda: [Device("g1", "xs")])


def level(*points: tuple[int, float], sensor: str = "water_level") -> list[tuple[int, Step]]:
    return [(T0 + at, reading(sensor, value)) for at, value in points]


SCENARIOS = {
    "threshold: a pending `for` keeps its start in reading time": Scenario(
        rule('id = "warn"\nkind = "threshold"\nsensor = "water_level"\nabove = 2.5\nfor = "40s"'),
        level(*((s * S, 2.6) for s in range(0, 70, 10))),
        restart_at=T0 + 25 * S,
        until=T0 + 70 * S,
        expected=[("warn", "fired", T0 + 40 * S)],
    ),
    "threshold: hysteresis holds a firing alert in the band": Scenario(
        rule(
            'id = "warn"\nkind = "threshold"\nsensor = "water_level"\n'
            "above = 2.5\nclear_below = 2.4"
        ),
        level((0, 2.6), (20 * S, 2.45), (30 * S, 2.45), (50 * S, 2.3)),
        restart_at=T0 + 25 * S,
        until=T0 + 60 * S,
        expected=[("warn", "fired", T0), ("warn", "resolved", T0 + 50 * S)],
    ),
    "boolean: a pending `for` keeps its start": Scenario(
        rule('id = "smoke"\nkind = "boolean"\nsensor = "smoke"\nequals = true\nfor = "30s"'),
        level(*((s * S, 1.0) for s in range(0, 50, 10)), sensor="smoke"),
        restart_at=T0 + 25 * S,
        until=T0 + 50 * S,
        expected=[("smoke", "fired", T0 + 30 * S)],
    ),
    "rate: a firing rise is not resolved by a restart": Scenario(
        rule('id = "fast"\nkind = "rate"\nsensor = "water_level"\nrise = 0.2\nwithin = "10m"'),
        level(
            (0, 2.0),
            (2 * MIN, 2.1),
            (4 * MIN, 2.25),
            (6 * MIN, 2.3),
            (8 * MIN, 2.42),
            (10 * MIN, 2.44),
            (12 * MIN, 2.45),
            (14 * MIN, 2.45),
            (16 * MIN, 2.45),
            (18 * MIN, 2.45),
        ),
        restart_at=T0 + 5 * MIN,
        until=T0 + 19 * MIN,
        expected=[("fast", "fired", T0 + 4 * MIN), ("fast", "resolved", T0 + 18 * MIN)],
    ),
    "no_data: a silent sensor's timer is re-armed": Scenario(
        rule('id = "rain_quiet"\nkind = "no_data"\nsensor = "rainfall"\nsilent_for = "10m"'),
        level((0, 0.5), sensor="rainfall"),
        restart_at=T0 + 2 * MIN,
        until=T0 + 12 * MIN,
        expected=[("rain_quiet", "fired", T0 + 10 * MIN + 5 * S)],
    ),
    "no_data: a registered device that never reported fires from its registration": Scenario(
        rule('id = "quiet"\nkind = "no_data"\nsilent_for = "10m"'),
        [],
        restart_at=T0 + 3 * MIN,
        until=T0 + 12 * MIN,
        expected=[("quiet", "fired", T0 + 10 * MIN + 5 * S)],
    ),
    "no_data: a device that only sends events is watched": Scenario(
        rule('id = "sos_quiet"\nkind = "no_data"\ndevice_kind = "sos_button"\nsilent_for = "10m"'),
        [(T0 + MIN, event("sos", "b1"))],
        restart_at=T0 + 3 * MIN,
        until=T0 + 13 * MIN,
        expected=[("sos_quiet", "fired", T0 + 11 * MIN + 5 * S)],
        devices=[Device("b1", "xs", kind="sos_button")],
    ),
    "event: the clear deadline does not move": Scenario(
        rule('id = "alarm"\nkind = "event"\nevent = "smoke_alarm"\nclear_after = "10m"'),
        [(T0, event("smoke_alarm"))],
        restart_at=T0 + 4 * MIN,
        until=T0 + 12 * MIN,
        expected=[("alarm", "fired", T0), ("alarm", "resolved", T0 + 10 * MIN)],
    ),
}


def outcome(
    tmp_path, scenario: Scenario, restart_at: int | None, postgres_dsn: str | None = None
) -> tuple[list, list]:
    world = World(tmp_path, scenario.rules, scenario.devices, postgres_dsn)
    try:
        world.run(scenario.script, scenario.until, restart_at)
        return world.transitions(), world.notifications()
    finally:
        world.close()


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_a_restart_in_the_middle_changes_no_outcome(tmp_path, name):
    scenario = SCENARIOS[name]
    straight = outcome(tmp_path / "straight", scenario, None)
    restarted = outcome(tmp_path / "restarted", scenario, scenario.restart_at)
    assert [(r, what, at) for r, _, _, what, at in straight[0]] == scenario.expected
    assert restarted == straight


@pytest.mark.integration
@pytest.mark.parametrize("name", list(SCENARIOS))
def test_alert_state_in_postgres_gives_the_outcomes_of_sqlite(tmp_path, postgres_server, name):
    """The same scenarios with the alert state in PostgreSQL: a restart there changes no
    outcome either, and the outcome is the one the embedded store gives."""
    scenario = SCENARIOS[name]
    embedded = outcome(tmp_path / "sqlite", scenario, scenario.restart_at)
    runs = []
    for run, restart_at in (("straight", None), ("restarted", scenario.restart_at)):
        dsn = postgres_server.fresh_database()
        try:
            runs.append(outcome(tmp_path / run, scenario, restart_at, dsn))
        finally:
            postgres_server.drop_database(dsn)
    assert runs[0] == runs[1] == embedded
