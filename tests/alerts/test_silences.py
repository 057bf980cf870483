"""Silences in the engine, with real SQLite stores and a simulated clock: what a silence holds
back, what it lets through, and what happens when it ends."""

from __future__ import annotations

from pathlib import Path

from village_brain.alerts.engine import AlertEngine
from village_brain.alerts.records import Webhook
from village_brain.alerts.signing import new_secret
from village_brain.alerts.silences import Matchers
from village_brain.core.bus import Bus
from village_brain.core.catalog import default_catalog
from village_brain.core.config import AlertSettings
from village_brain.core.devices import Device
from village_brain.core.records import Reading
from village_brain.store.registry import BatchRecord, RegistryStore

MIN = 60_000
T0 = 1_800_000_000_000


class Clock:
    def __init__(self) -> None:
        self.ms = T0

    def __call__(self) -> int:
        return self.ms


def open_engine(tmp_path: Path, clock: Clock) -> AlertEngine:
    registry = RegistryStore(tmp_path / "registry.sqlite3")
    registry.upsert_devices(
        [
            Device("g1", "xs", place="北桥", sensors=("water_level",)),
            Device("g2", "xs", place="南桥", sensors=("water_level",)),
        ]
    )
    engine = AlertEngine(
        AlertSettings(allow_private_targets=True),
        default_catalog(),
        registry,
        Bus(),
        tmp_path / "a.sqlite3",
        clock=clock,
    )
    if not engine.webhooks():
        engine.add_webhook(Webhook("wh_1", "http://127.0.0.1:9/hook", "standard", new_secret(), 0))
    return engine


def level(engine: AlertEngine, device: str, value: float, at_ms: int) -> None:
    engine.on_batch([Reading("xs", device, "water_level", at_ms, value)], BatchRecord())


def danger(engine: AlertEngine, device: str = "g1"):
    (alert,) = engine.store.alerts(device=device, severity="critical")
    return alert


def sent(engine: AlertEngine, device: str = "g1") -> list[str]:
    """The event types queued for the danger alert of `device`, oldest first."""
    alert_id = danger(engine, device).id
    return [d.event_type for d in reversed(engine.store.deliveries(alert_id=alert_id))]


def silence(engine: AlertEngine, minutes: int = 60, **matchers: str):
    now = engine.clock()
    return engine.add_silence(Matchers(**matchers), now, now + minutes * MIN, "修闸", "wang")


def at(engine: AlertEngine, clock: Clock, ms: int) -> None:
    clock.ms = ms
    engine.tick(ms)


def test_an_alert_firing_inside_a_silence_is_recorded_as_silenced_and_sends_nothing(tmp_path):
    clock = Clock()
    engine = open_engine(tmp_path, clock)
    made = silence(engine, rule="river_danger")
    level(engine, "g1", 3.5, T0)
    at(engine, clock, T0 + 1000)
    alert = danger(engine)
    assert alert.state == "firing"
    assert engine.silencer.muting(alert, clock.ms) == [made.id]
    assert sent(engine) == []
    kinds = [e.kind for e in engine.store.timeline(alert.id)]
    assert kinds == ["fired", "silenced"]


def test_an_alert_resolving_inside_a_silence_sends_no_resolved_message(tmp_path):
    clock = Clock()
    engine = open_engine(tmp_path, clock)
    silence(engine, device="g1")
    level(engine, "g1", 3.5, T0)
    at(engine, clock, T0 + 1000)
    level(engine, "g1", 2.0, T0 + 2000)
    at(engine, clock, T0 + 3000)
    assert danger(engine).state == "resolved"
    assert sent(engine) == []
    at(engine, clock, T0 + 61 * MIN)  # the silence's end brings nothing back
    assert sent(engine) == []


def test_the_timer_notifies_a_still_firing_alert_once_when_its_silence_ends(tmp_path):
    clock = Clock()
    engine = open_engine(tmp_path, clock)
    silence(engine, minutes=10, village="xs", severity="critical")
    level(engine, "g1", 3.5, T0)
    at(engine, clock, T0 + 9 * MIN)
    assert sent(engine) == []
    at(engine, clock, T0 + 10 * MIN)
    at(engine, clock, T0 + 10 * MIN + 250)
    assert sent(engine) == ["alert.firing"]
    kinds = [e.kind for e in engine.store.timeline(danger(engine).id)]
    assert kinds == ["fired", "silenced", "unsilenced", "reminded"]


def test_expiring_a_silence_early_notifies_at_the_next_tick(tmp_path):
    clock = Clock()
    engine = open_engine(tmp_path, clock)
    made = silence(engine, place="北桥")
    level(engine, "g1", 3.5, T0)
    at(engine, clock, T0 + 1000)
    ended = engine.expire_silence(made.id, "li")
    assert (ended.expired_by, ended.state(clock.ms)) == ("li", "expired")
    assert sent(engine) == []
    at(engine, clock, T0 + 1250)
    assert sent(engine) == ["alert.firing"]


def test_a_silence_mutes_only_the_alerts_all_of_its_matchers_fit(tmp_path):
    clock = Clock()
    engine = open_engine(tmp_path, clock)
    silence(engine, place="北桥", severity="critical")
    level(engine, "g1", 3.5, T0)
    level(engine, "g2", 3.5, T0)
    at(engine, clock, T0 + 1000)
    assert sent(engine, "g1") == []
    assert sent(engine, "g2") == ["alert.firing"]


def test_a_silence_that_has_not_started_mutes_nothing(tmp_path):
    clock = Clock()
    engine = open_engine(tmp_path, clock)
    engine.add_silence(Matchers(device="g1"), T0 + 30 * MIN, T0 + 60 * MIN, "明天修", "wang")
    level(engine, "g1", 3.5, T0)
    assert sent(engine) == ["alert.firing"]


def test_an_alert_silenced_after_its_message_is_reminded_when_the_silence_ends(tmp_path):
    clock = Clock()
    engine = open_engine(tmp_path, clock)
    level(engine, "g1", 3.5, T0)
    silence(engine, minutes=5, device="g1")
    at(engine, clock, T0 + 1000)
    at(engine, clock, T0 + 5 * MIN + 1000)
    assert sent(engine) == ["alert.firing", "alert.firing"]


def test_a_silence_and_its_mutes_survive_a_restart(tmp_path):
    clock = Clock()
    engine = open_engine(tmp_path, clock)
    silence(engine, minutes=10, device="g1")
    level(engine, "g1", 3.5, T0)
    at(engine, clock, T0 + 1000)
    engine.stop()
    again = open_engine(tmp_path, clock)
    try:
        (kept,) = again.silencer.silences()
        assert kept.created_by == "wang"
        at(again, clock, T0 + 2000)
        assert sent(again) == []
        at(again, clock, T0 + 10 * MIN)
        assert sent(again) == ["alert.firing"]
    finally:
        again.stop()
