"""Rule state in the alert store: written with the alert change, dropped with its rule."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from restart_world import T0, World, reading

from village_brain.alerts.engine import AlertEngine
from village_brain.core.devices import Device

S = 1_000
WARN = (
    '[[rule]]\nid = "warn"\nname = "High"\nseverity = "major"\nkind = "threshold"\n'
    'sensor = "water_level"\nabove = 2.5\n'
)


@contextmanager
def writes_refused(engine: AlertEngine) -> Iterator[None]:
    """The alert database refuses every write, as it does when the disk is full."""
    writer = engine.store.db._writer
    writer.execute("PRAGMA query_only = ON")
    try:
        yield
    finally:
        writer.execute("PRAGMA query_only = OFF")


def states(world: World) -> dict[tuple[str, str, str], dict]:
    return {key: state for key, _, _, state in world.engine.store.rule_states()}


def test_a_firing_and_its_rule_state_are_written_together_or_not_at_all(tmp_path):
    world = World(tmp_path, WARN, [Device("g1", "xs")])
    try:
        with writes_refused(world.engine):
            reading("water_level", 2.7)(world, T0)
            assert world.engine.store.alerts() == []
            assert ("warn", "g1", "water_level") not in states(world)
        world.engine.tick(T0 + S)
        (alert,) = world.engine.store.alerts()
        assert alert.state == "firing"
        assert states(world)[("warn", "g1", "water_level")]["firing"] is True
    finally:
        world.close()


def test_the_state_of_a_rule_that_no_longer_exists_is_dropped_at_start(tmp_path):
    world = World(tmp_path, WARN, [Device("g1", "xs")])
    try:
        reading("water_level", 2.7)(world, T0)
        assert ("warn", "g1", "water_level") in states(world)
        (world.path / "rules.toml").write_text(WARN.replace('"warn"', '"renamed"'))
        world.restart()
        assert ("warn", "g1", "water_level") not in states(world)
    finally:
        world.close()
