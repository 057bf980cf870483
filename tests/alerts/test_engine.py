"""The engine with real SQLite stores and a simulated clock: reminders, persistence, rules."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import msgspec

from village_brain.alerts.engine import AlertEngine
from village_brain.core.bus import Bus
from village_brain.core.catalog import default_catalog
from village_brain.core.config import AlertSettings
from village_brain.core.records import Reading
from village_brain.store.registry import BatchRecord, RegistryStore

MIN = 60_000
T0 = 1_800_000_000_000


class Clock:
    def __init__(self) -> None:
        self.ms = T0

    def __call__(self) -> int:
        return self.ms


def open_engine(tmp_path: Path, clock: Clock, **settings) -> AlertEngine:
    registry = RegistryStore(tmp_path / "registry.sqlite3")
    return AlertEngine(
        AlertSettings(**settings),
        default_catalog(),
        registry,
        Bus(),
        tmp_path / "a.sqlite3",
        clock=clock,
    )


def flood(engine: AlertEngine, at_ms: int, value: float = 3.5) -> None:
    engine.on_batch([Reading("xs", "g1", "water_level", at_ms, value)], BatchRecord())


def danger_states(engine: AlertEngine) -> list[str]:
    """States of g1's river_danger alerts in the database, newest first."""
    return [a.state for a in engine.store.alerts(device="g1", severity="critical")]


@contextmanager
def writes_refused(engine: AlertEngine) -> Iterator[None]:
    """The alert database refuses every write, as it does when the disk is full."""
    writer = engine.store.db._writer  # the store's one writing connection
    writer.execute("PRAGMA query_only = ON")
    try:
        yield
    finally:
        writer.execute("PRAGMA query_only = OFF")


def timeline_kinds(engine: AlertEngine) -> list[str]:
    (alert,) = engine.store.alerts(device="g1", severity="critical")
    return [e.kind for e in engine.store.timeline(alert.id)]


def test_an_unacknowledged_alert_is_repeated_at_its_rules_interval(tmp_path):
    clock = Clock()
    engine = open_engine(tmp_path, clock)
    flood(engine, T0)  # river_danger repeats every 30 minutes
    engine.tick(T0 + 29 * MIN)
    engine.tick(T0 + 30 * MIN)
    engine.tick(T0 + 45 * MIN)
    assert timeline_kinds(engine) == ["fired", "reminded"]


def test_an_acknowledged_alert_is_not_repeated(tmp_path):
    clock = Clock()
    engine = open_engine(tmp_path, clock)
    flood(engine, T0)
    (alert,) = engine.store.alerts(device="g1", severity="critical")
    engine.acknowledge(alert.id, "li", "")
    engine.tick(T0 + 3 * 30 * MIN)
    assert timeline_kinds(engine) == ["fired", "acknowledged"]


def test_an_open_alert_survives_a_restart_without_firing_again(tmp_path):
    clock = Clock()
    first = open_engine(tmp_path, clock)
    flood(first, T0)
    first.store.close()
    second = open_engine(tmp_path, clock)
    flood(second, T0 + MIN)
    assert [a.state for a in second.store.alerts(device="g1", severity="critical")] == ["firing"]
    flood(second, T0 + 2 * MIN, value=1.0)
    assert [a.state for a in second.store.alerts(device="g1", severity="critical")] == ["resolved"]


def test_a_rule_made_through_the_api_is_kept_across_a_restart(tmp_path):
    clock = Clock()
    first = open_engine(tmp_path, clock)
    first.put_rule(
        {
            "id": "ph_low",
            "name": "Acid water",
            "severity": "minor",
            "kind": "threshold",
            "sensor": "water_ph",
            "below": 5.5,
        }
    )
    first.store.close()
    second = open_engine(tmp_path, clock)
    assert second.rule_source("ph_low") == "api"
    assert "ph_low" in second.evaluator.rules


def test_disabling_a_rule_resolves_its_open_alerts(tmp_path):
    clock = Clock()
    engine = open_engine(tmp_path, clock)
    flood(engine, T0)
    danger = next(r for r in engine.rules() if r.id == "river_danger")
    engine.put_rule({**msgspec.to_builtins(danger), "enabled": False})
    (alert,) = engine.store.alerts(device="g1", severity="critical")
    assert alert.state == "resolved"


def test_a_resolution_the_database_refused_is_written_once_it_takes_writes_again(tmp_path):
    engine = open_engine(tmp_path, Clock())
    flood(engine, T0)
    with writes_refused(engine):
        flood(engine, T0 + MIN, value=1.0)
        assert danger_states(engine) == ["firing"]
    engine.tick(T0 + 2 * MIN)
    assert danger_states(engine) == ["resolved"]
    (alert,) = engine.store.alerts(device="g1", severity="critical")
    assert alert.resolved_ms == T0 + MIN


def test_after_a_refused_resolution_the_next_flood_fires_a_new_alert(tmp_path):
    engine = open_engine(tmp_path, Clock())
    flood(engine, T0)
    with writes_refused(engine):
        flood(engine, T0 + MIN, value=1.0)
    flood(engine, T0 + 2 * MIN)
    assert danger_states(engine) == ["firing", "resolved"]


def test_a_firing_the_database_refused_is_written_at_the_next_evaluation(tmp_path):
    engine = open_engine(tmp_path, Clock())
    with writes_refused(engine):
        flood(engine, T0)
        engine.tick(T0 + 1_000)
        assert danger_states(engine) == []
    engine.tick(T0 + 2_000)
    (alert,) = engine.store.alerts(device="g1", severity="critical")
    assert (alert.state, alert.started_ms) == ("firing", T0)


def test_a_flap_while_writes_are_refused_is_recorded_in_order(tmp_path):
    engine = open_engine(tmp_path, Clock())
    with writes_refused(engine):
        flood(engine, T0)
        flood(engine, T0 + MIN, value=1.0)
    engine.tick(T0 + 2 * MIN)
    (alert,) = engine.store.alerts(device="g1", severity="critical")
    assert (alert.state, alert.started_ms, alert.resolved_ms) == ("resolved", T0, T0 + MIN)
