"""A small world for restart tests: the real engine, real stores, a simulated clock.

A script is a list of (time, step); the world runs it second by second with the timer
ticking every few seconds, and can stop the engine and open a new one in the middle, as a
restart of the process does. What comes out is what people would see: every alert change
and every notification put in the outbox.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from village_brain.alerts.engine import AlertEngine
from village_brain.alerts.records import Webhook
from village_brain.alerts.signing import new_secret
from village_brain.core.bus import Bus
from village_brain.core.catalog import default_catalog
from village_brain.core.config import AlertSettings
from village_brain.core.devices import Device
from village_brain.core.records import Reading
from village_brain.store.registry import BatchRecord, Event, RegistryStore
from village_brain.store.sqlite_series import SqliteSeriesStore

S = 1_000
MIN = 60 * S
T0 = 1_800_000_000_000
TICK = 5 * S

Step = Callable[["World", int], None]


class Clock:
    def __init__(self) -> None:
        self.ms = T0

    def __call__(self) -> int:
        return self.ms


class World:
    def __init__(
        self,
        path: Path,
        rules: str,
        devices: Sequence[Device],
        postgres_dsn: str | None = None,
    ) -> None:
        """The alert state in SQLite under `path`, or in PostgreSQL at `postgres_dsn`."""
        self.postgres_dsn = postgres_dsn
        path.mkdir(parents=True, exist_ok=True)
        self.path = path
        (path / "rules.toml").write_text(rules, "utf-8")
        self.clock = Clock()
        self.registry = RegistryStore(path / "registry.sqlite3")
        self.series = SqliteSeriesStore(path / "series.sqlite3")
        self.registry.upsert_devices(devices)
        self.engine = self._open()
        self.engine.add_webhook(
            Webhook("ops", "http://127.0.0.1:9/hook", "standard", new_secret(), T0)
        )

    def _open(self) -> AlertEngine:
        return AlertEngine(
            AlertSettings(rules_file=self.path / "rules.toml", allow_private_targets=True),
            default_catalog(),
            self.registry,
            Bus(),
            self.path / "alerts.sqlite3",
            clock=self.clock,
            series=self.series,
            postgres_dsn=self.postgres_dsn,
        )

    def restart(self) -> None:
        self.engine.stop()
        self.engine = self._open()

    def run(self, script: Sequence[tuple[int, Step]], until: int, restart_at: int | None) -> None:
        steps = sorted(script, key=lambda s: s[0])
        t = T0
        while t <= until:
            self.clock.ms = t
            if restart_at is not None and t == restart_at:
                self.restart()
            for _, step in [s for s in steps if s[0] == t]:
                step(self, t)
            if (t - T0) % TICK == 0:
                self.engine.tick(t)
            t += S

    def transitions(self) -> list[tuple[str, str, str, str, int]]:
        """Every alert change: (rule, device, subject, what, when)."""
        out = []
        for alert in sorted(self.engine.store.alerts(limit=10_000), key=lambda a: a.id):
            for entry in self.engine.store.timeline(alert.id):
                out.append((alert.rule_id, alert.device, alert.subject, entry.kind, entry.at_ms))
        return out

    def notifications(self) -> list[tuple[str, str, str]]:
        """Every message queued for the webhook: (event type, rule, subject), in order."""
        alerts = {a.id: a for a in self.engine.store.alerts(limit=10_000)}
        return [
            (d.event_type, alerts[d.alert_id].rule_id, alerts[d.alert_id].subject)
            for d in sorted(self.engine.store.deliveries(limit=10_000), key=lambda d: d.id)
        ]

    def close(self) -> None:
        self.engine.stop()
        self.series.close()
        self.registry.close()


def reading(sensor: str, value: float, device: str = "g1", late_by: int = 0) -> Step:
    """A reading taken `late_by` before it arrives (a device catching up after a gap)."""

    def step(world: World, now: int) -> None:
        r = Reading("xs", device, sensor, now - late_by, value)
        world.series.write([r])
        record = BatchRecord(seen={device: now}, stored={device: now})
        world.registry.commit(record)
        world.engine.on_batch([r], record)

    return step


def event(kind: str, device: str = "g1") -> Step:
    def step(world: World, now: int) -> None:
        e = Event("xs", device, now, kind)
        record = BatchRecord(stored={device: now}, events=[e])
        world.registry.commit(record)
        world.engine.on_batch([], record)

    return step
