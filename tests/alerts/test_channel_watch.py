"""A channel that keeps failing raises its own alert: the engine with real SQLite stores and
a simulated clock, attempts recorded in the outbox as the dispatcher records them."""

from __future__ import annotations

from pathlib import Path

from village_brain.alerts.engine import AlertEngine
from village_brain.alerts.records import AttemptResult, Webhook
from village_brain.alerts.signing import new_secret
from village_brain.core.bus import Bus
from village_brain.core.catalog import default_catalog
from village_brain.core.config import AlertSettings
from village_brain.core.records import Reading
from village_brain.store.registry import BatchRecord, RegistryStore

T0 = 1_800_000_000_000
REFUSED = AttemptResult(False, None, "ConnectError: [Errno 111] Connection refused")


class Clock:
    def __init__(self) -> None:
        self.ms = T0

    def __call__(self) -> int:
        return self.ms


def open_engine(tmp_path: Path, clock: Clock) -> AlertEngine:
    engine = AlertEngine(
        AlertSettings(allow_private_targets=True, channel_failing_after=3),
        default_catalog(),
        RegistryStore(tmp_path / "registry.sqlite3"),
        Bus(),
        tmp_path / "a.sqlite3",
        clock=clock,
    )
    for hook_id, name in (("wh_dead", "村口广播"), ("wh_ok", "值班群")):
        url = f"http://127.0.0.1:9/{hook_id}"
        engine.add_webhook(Webhook(hook_id, url, "standard", new_secret(), 0, name=name))
    return engine


def attempt(engine: AlertEngine, clock: Clock, hook_id: str, result: AttemptResult) -> None:
    """One attempt of the channel's due message, recorded as the dispatcher does."""
    clock.ms += 1000
    (due,) = [d for d in engine.store.claim_due(clock.ms, 10) if d.webhook_id == hook_id]
    engine.store.record_attempt(due.id, result, clock.ms, clock.ms if not result.ok else None)
    for other in engine.store.deliveries(state="sending"):
        engine.store.record_attempt(other.id, AttemptResult(True, 200), clock.ms, None)
    engine.tick(clock.ms)


def channel_alerts(engine: AlertEngine) -> list:
    return [a for a in engine.store.alerts() if a.kind == "channel"]


def test_three_failed_attempts_in_a_row_raise_the_channels_alert_through_the_other(tmp_path):
    clock = Clock()
    engine = open_engine(tmp_path, clock)
    engine.on_batch([Reading("xs", "g1", "water_level", T0, 3.5)], BatchRecord())
    attempt(engine, clock, "wh_dead", REFUSED)
    attempt(engine, clock, "wh_dead", REFUSED)
    assert channel_alerts(engine) == []
    attempt(engine, clock, "wh_dead", REFUSED)
    (raised,) = channel_alerts(engine)
    assert (raised.rule_id, raised.subject, raised.state) == (
        "channel_failing",
        "wh_dead",
        "firing",
    )
    assert "村口广播" in raised.message and "Connection refused" in raised.message
    told = engine.store.deliveries(alert_id=raised.id)
    assert [d.webhook_id for d in told] == ["wh_ok"]


def test_the_channels_alert_resolves_at_its_first_delivered_message(tmp_path):
    clock = Clock()
    engine = open_engine(tmp_path, clock)
    engine.on_batch([Reading("xs", "g1", "water_level", T0, 3.5)], BatchRecord())
    for _ in range(3):
        attempt(engine, clock, "wh_dead", REFUSED)
    attempt(engine, clock, "wh_dead", AttemptResult(True, 200))
    (alert,) = channel_alerts(engine)
    assert alert.state == "resolved"
    told = [d.event_type for d in reversed(engine.store.deliveries(alert_id=alert.id))]
    assert told == ["alert.firing", "alert.resolved"]


def test_the_channels_alert_survives_a_restart_without_firing_twice(tmp_path):
    clock = Clock()
    engine = open_engine(tmp_path, clock)
    engine.on_batch([Reading("xs", "g1", "water_level", T0, 3.5)], BatchRecord())
    for _ in range(3):
        attempt(engine, clock, "wh_dead", REFUSED)
    engine.stop()
    again = open_engine(tmp_path, clock)
    try:
        clock.ms += 5000
        again.tick(clock.ms)
        assert [a.state for a in channel_alerts(again)] == ["firing"]
    finally:
        again.stop()
