"""No-data without blind spots: never-reported devices, event-only devices, single sensors."""

from __future__ import annotations

from restart_world import MIN, T0, World, event, reading

from village_brain.core.devices import Device
from village_brain.store.registry import BatchRecord

S = 1_000
QUIET = '[[rule]]\nid = "quiet"\nname = "Silent"\nseverity = "major"\nkind = "no_data"\n'


def fired(world: World) -> list[tuple[str, str, int]]:
    return [(d, s, at) for _, d, s, what, at in world.transitions() if what == "fired"]


def test_a_device_registered_while_running_fires_from_its_registration(tmp_path):
    world = World(tmp_path, QUIET + 'silent_for = "10m"\n', [])
    try:
        world.run([], until=T0 + MIN, restart_at=None)
        world.registry.upsert_devices([Device("late1", "xs")])
        world.engine.refresh_devices()
        world.clock.ms = T0 + 11 * MIN
        world.engine.tick()
        assert fired(world) == []
        world.clock.ms = T0 + 11 * MIN + 5 * S
        world.engine.tick()
        assert fired(world) == [("late1", "", T0 + 11 * MIN + 5 * S)]
    finally:
        world.close()


def test_a_device_that_only_sends_events_is_silent_after_its_limit_and_its_next_event_resolves(
    tmp_path,
):
    world = World(tmp_path, QUIET + 'silent_for = "10m"\n', [Device("b1", "xs", kind="sos")])
    try:
        script = [(T0, event("sos_pressed", "b1")), (T0 + 12 * MIN, event("sos_pressed", "b1"))]
        world.run(script, until=T0 + 13 * MIN, restart_at=None)
        changes = [(what, at) for *_, what, at in world.transitions()]
        assert changes == [("fired", T0 + 10 * MIN + 5 * S), ("resolved", T0 + 12 * MIN)]
    finally:
        world.close()


def test_a_silent_sensor_fires_while_the_device_keeps_reporting_its_other_sensors(tmp_path):
    rules = QUIET + 'sensor = "rainfall"\nsilent_for = "10m"\n'
    world = World(tmp_path, rules, [Device("g1", "xs", sensors=("rainfall", "water_level"))])
    try:
        script = [(T0, reading("rainfall", 0.5))]
        script += [(T0 + m * MIN, reading("water_level", 2.0)) for m in range(13)]
        world.run(script, until=T0 + 12 * MIN, restart_at=None)
        assert fired(world) == [("g1", "rainfall", T0 + 10 * MIN + 5 * S)]
    finally:
        world.close()


def test_a_sensor_that_never_reported_fires_from_the_devices_registration(tmp_path):
    rules = QUIET + 'sensor = "rainfall"\nsilent_for = "10m"\n'
    world = World(tmp_path, rules, [Device("g1", "xs", sensors=("rainfall",))])
    try:
        world.run([], until=T0 + 11 * MIN, restart_at=None)
        assert fired(world) == [("g1", "rainfall", T0 + 10 * MIN + 5 * S)]
    finally:
        world.close()


def test_a_device_silent_since_before_the_start_fires_from_its_last_message(tmp_path):
    world = World(tmp_path, QUIET + 'silent_for = "10m"\n', [])
    try:
        # Heard from while no engine was watching (alerts were off, or before an upgrade).
        world.registry.upsert_devices([Device("g1", "xs")])
        world.registry.commit(BatchRecord(seen={"g1": T0 - 9 * MIN}))
        world.restart()
        world.run([], until=T0 + 2 * MIN, restart_at=None)
        assert fired(world) == [("g1", "", T0 + MIN + 5 * S)]
    finally:
        world.close()
