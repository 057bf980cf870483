"""The alert state of a partition in PostgreSQL, written under its lease's epoch: a former
owner's late write changes nothing, and a successor replaying a transition notifies once."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from village_brain.alerts.records import Alert, NewAlert, Outgoing, TimelineEntry
from village_brain.alerts.store import AlertStore
from village_brain.cluster.leases import FenceCounts, Lease, LeaseTable, StaleEpoch, fence

from support.waiting import wait_until

pytestmark = pytest.mark.integration

T0 = 1_800_000_000_000
SHORT = 1.0


def outgoing(alert: Alert, entry: TimelineEntry) -> list[Outgoing]:
    event = f"alert.{entry.kind}"
    return [Outgoing("ops", f"{alert.id}.{entry.kind}", event, "{}", f"{alert.id}:{entry.kind}")]


class Worker:
    """One worker's alert store and lease handle, its writes fenced by the lease it holds."""

    def __init__(self, dsn: str, name: str) -> None:
        self.name = name
        self.leases = LeaseTable(psycopg.connect(dsn, autocommit=True), 1, SHORT)
        self.counts = FenceCounts()
        self.lease: Lease | None = None
        self.store = AlertStore(None, postgres_dsn=dsn, guard=self._fence)

    def _fence(self, conn) -> None:
        assert self.lease is not None
        fence(conn.raw, self.lease.partition, self.lease.epoch, self.counts)

    def take(self) -> Lease | None:
        self.lease = self.leases.acquire(0, self.name) or self.lease
        return self.lease

    def close(self) -> None:
        self.store.close()
        self.leases.conn.close()


@pytest.fixture
def workers(postgres_dsn) -> Iterator[tuple[Worker, Worker]]:
    pair = (Worker(postgres_dsn, "w1"), Worker(postgres_dsn, "w2"))
    yield pair
    for worker in pair:
        worker.close()


def wait_for_expiry(worker: Worker) -> None:
    def expired() -> bool:
        (now,) = worker.leases.conn.execute("SELECT now()").fetchone()
        return now >= worker.lease.expires_at

    wait_until(expired, timeout=10 * SHORT, what="the lease to run out")


def new_alert(at_ms: int) -> NewAlert:
    return NewAlert(
        "warn", "a rule", "major", "threshold", "xs", "g1", "water_level", "high", at_ms
    )


def test_a_former_owner_s_resolution_is_refused_and_the_successor_s_stands(workers):
    first, second = workers
    first.take()
    fired = first.store.fire(new_alert(T0), outgoing)
    wait_for_expiry(first)
    assert second.take().epoch == 2
    with pytest.raises(StaleEpoch):
        first.store.resolve(fired.id, T0 + 60_000, 2.3, "", outgoing)
    assert second.store.alert(fired.id).state == "firing"
    second.store.resolve(fired.id, T0 + 90_000, 2.3, "", outgoing)
    assert [e.kind for e in second.store.timeline(fired.id)] == ["fired", "resolved"]
    assert [d.event_type for d in second.store.deliveries()] == ["alert.resolved", "alert.fired"]
    assert first.counts.refused == {0: 1}


def test_a_successor_replaying_a_transition_queues_its_notification_once(workers):
    first, second = workers
    first.take()
    fired = first.store.fire(new_alert(T0), outgoing)
    first.store.resolve(fired.id, T0 + 60_000, 2.3, "", outgoing)
    wait_for_expiry(first)
    second.take()
    # The successor could not know whether the resolution's notification was queued.
    second.store.resolve(fired.id, T0 + 60_000, 2.3, "", outgoing)
    resolved = [d for d in second.store.deliveries() if d.event_type == "alert.resolved"]
    assert len(resolved) == 1
