"""The alert engine evaluating partitions by lease on a shared PostgreSQL: a successor resumes
a pending `for` where the store left it, and a stalled former owner's writes are refused."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from village_brain.alerts.engine import AlertEngine
from village_brain.alerts.records import Webhook
from village_brain.alerts.store import AlertStore
from village_brain.cluster.leases import LeaseTable
from village_brain.cluster.ownership import Ownership
from village_brain.cluster.sole_worker import SoleWorker
from village_brain.cluster.wiring import open_cluster
from village_brain.core.bus import Bus
from village_brain.core.catalog import default_catalog
from village_brain.core.config import AlertSettings, ConfigError, load_settings
from village_brain.core.records import Reading
from village_brain.store.registry import BatchRecord, RegistryStore

from support.waiting import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.cluster]

MIN = 60_000
T0 = 1_800_000_000_000
SHORT = 1.0
RULES = """
[[rule]]
id = "held"
name = "River above the line for two minutes"
severity = "major"
kind = "threshold"
sensor = "water_level"
above = 3.0
for = "2m"
"""


class Worker:
    """One worker's engine on the shared store, fenced by its own leases (one partition)."""

    def __init__(self, dsn: str, name: str, tmp_path: Path) -> None:
        rules = tmp_path / "rules.toml"
        rules.write_text(RULES, "utf-8")
        self.ownership = Ownership(
            LeaseTable(psycopg.connect(dsn, autocommit=True), 1, SHORT), name
        )
        self.engine = AlertEngine(
            AlertSettings(rules_file=rules),
            default_catalog(),
            RegistryStore(tmp_path / f"{name}.sqlite3"),
            Bus(),
            None,  # type: ignore[arg-type]
            clock=lambda: T0,
            postgres_dsn=dsn,
            fence=self.ownership.fence_devices,
            partitions=1,
        )

    def take(self) -> None:
        assert self.ownership.step().gained == [0]
        self.engine.take_partitions({0})

    def expired(self) -> bool:
        conn = self.ownership.leases.conn
        (late,) = conn.execute("SELECT expires_at <= now() FROM partition_leases").fetchone()
        return late

    def close(self) -> None:
        self.engine.store.close()
        self.ownership.leases.conn.close()


@pytest.fixture
def workers(postgres_dsn, tmp_path) -> Iterator[tuple[Worker, Worker]]:
    store = AlertStore(None, postgres_dsn=postgres_dsn)
    store.put_webhook(Webhook("ops", "https://hooks.example/ops", "standard", "s", T0))
    store.close()
    pair = (Worker(postgres_dsn, "w1", tmp_path), Worker(postgres_dsn, "w2", tmp_path))
    yield pair
    for worker in pair:
        worker.close()


def breach(engine: AlertEngine, at_ms: int) -> None:
    engine.on_batch([Reading("xs", "g1", "water_level", at_ms, 3.5)], BatchRecord())


def test_a_successor_fires_a_breach_its_predecessor_left_pending(workers):
    first, second = workers
    first.take()
    breach(first.engine, T0)
    assert first.engine.settled(0)  # the pending breach is written down
    wait_until(first.expired, timeout=10 * SHORT, what="the stalled owner's lease to run out")
    second.take()
    second.engine.tick(T0 + 2 * MIN)  # no reading since: the clock alone fires it
    (alert,) = second.engine.store.alerts()
    assert (alert.rule_id, alert.state, alert.started_ms) == ("held", "firing", T0 + 2 * MIN)


def test_a_stalled_owner_s_firing_is_refused_and_the_successor_s_stands(workers):
    first, second = workers
    first.take()
    breach(first.engine, T0)
    wait_until(first.expired, timeout=10 * SHORT, what="the stalled owner's lease to run out")
    second.take()
    second.engine.tick(T0 + 2 * MIN)
    first.engine.tick(T0 + 3 * MIN)  # resumed, it has not noticed yet
    assert first.engine.stale_refusals >= 1
    assert first.ownership.counts.total() >= 1
    assert len(second.engine.store.alerts()) == 1
    assert [d.event_type for d in second.engine.store.deliveries()] == ["alert.firing"]
    assert not first.engine.settled(0)  # what it applied is not acknowledged


def test_a_dropped_partition_is_forgotten_and_no_longer_ticked(workers):
    first, _ = workers
    first.take()
    breach(first.engine, T0)
    first.engine.drop_partitions({0})
    first.engine.tick(T0 + 3 * MIN)
    assert first.engine.store.alerts() == []
    assert first.engine.stale_refusals == 0
    assert first.engine.owned_partitions() == []


def test_the_mqtt_input_on_a_shared_database_is_one_worker_without_partitions():
    settings = load_settings(cluster={"postgres_dsn": "host=nowhere"})
    assert open_cluster(settings) is None


def test_a_second_mqtt_worker_on_the_same_database_is_refused_with_what_to_set(postgres_dsn):
    first = SoleWorker(postgres_dsn)
    try:
        with pytest.raises(ConfigError, match='input = "amqp"'):
            SoleWorker(postgres_dsn)
    finally:
        first.close()
    SoleWorker(postgres_dsn).close()  # the lock went with the first worker's session
