"""The alert state of a partition in PostgreSQL, written under its lease's epoch: a former
owner's late writes change nothing, and a successor replaying a transition notifies once."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from village_brain.alerts.records import Alert, NewAlert, Outgoing, TimelineEntry
from village_brain.alerts.store import AlertStore
from village_brain.cluster.leases import LeaseTable, StaleEpoch
from village_brain.cluster.ownership import NotOwned, Ownership

from support.waiting import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.cluster]

T0 = 1_800_000_000_000
SHORT = 1.0
STATE = {("warn", "g1", "water_level"): ("threshold", "xs", {"pending_since": T0})}


def outgoing(alert: Alert, entry: TimelineEntry) -> list[Outgoing]:
    event = f"alert.{entry.kind}"
    return [Outgoing("ops", f"{alert.id}.{entry.kind}", event, "{}", f"{alert.id}:{entry.kind}")]


class Worker:
    """One worker: its partitions (one here, so every device is in it) and its alert store,
    whose evaluation writes are fenced by them."""

    def __init__(self, dsn: str, name: str) -> None:
        leases = LeaseTable(psycopg.connect(dsn, autocommit=True), 1, SHORT)
        self.ownership = Ownership(leases, name)
        self.store = AlertStore(None, postgres_dsn=dsn, fence=self.ownership.fence_devices)

    def expired(self) -> bool:
        conn = self.ownership.leases.conn
        (now,) = conn.execute("SELECT now()").fetchone()
        (lease,) = conn.execute("SELECT expires_at FROM partition_leases").fetchone()
        return now >= lease

    def close(self) -> None:
        self.store.close()
        self.ownership.leases.conn.close()


@pytest.fixture
def workers(postgres_dsn) -> Iterator[tuple[Worker, Worker]]:
    pair = (Worker(postgres_dsn, "w1"), Worker(postgres_dsn, "w2"))
    yield pair
    for worker in pair:
        worker.close()


def take_over(stalled: Worker, successor: Worker) -> None:
    """The first worker stops renewing (paused); the second takes its partition."""
    wait_until(stalled.expired, timeout=10 * SHORT, what="the lease to run out")
    assert successor.ownership.step().gained == [0]


def new_alert(at_ms: int) -> NewAlert:
    return NewAlert(
        "warn", "a rule", "major", "threshold", "xs", "g1", "water_level", "high", at_ms
    )


def test_a_former_owner_s_resolution_is_refused_and_the_successor_s_stands(workers):
    first, second = workers
    first.ownership.step()
    fired = first.store.fire(new_alert(T0), outgoing)
    take_over(first, second)
    with pytest.raises(StaleEpoch):
        first.store.resolve(fired.id, T0 + 60_000, 2.3, "", outgoing)
    assert second.store.alert(fired.id).state == "firing"
    second.store.resolve(fired.id, T0 + 90_000, 2.3, "", outgoing)
    assert [e.kind for e in second.store.timeline(fired.id)] == ["fired", "resolved"]
    assert [d.event_type for d in second.store.deliveries()] == ["alert.resolved", "alert.fired"]
    assert first.ownership.counts.refused == {0: 1}


def test_a_former_owner_s_tracker_state_and_reminder_are_refused(workers):
    first, second = workers
    first.ownership.step()
    fired = first.store.fire(new_alert(T0), outgoing)
    take_over(first, second)
    with pytest.raises(StaleEpoch):
        first.store.save_states(STATE, T0 + 1)
    with pytest.raises(StaleEpoch):
        first.store.remind(fired.id, T0 + 2, outgoing)
    assert second.store.rule_states() == []
    assert second.store.alert(fired.id).reminders == 0


def test_a_write_for_a_device_outside_the_worker_s_partitions_is_refused(workers):
    idle, _ = workers
    with pytest.raises(NotOwned):
        idle.store.fire(new_alert(T0), outgoing)
    assert idle.store.alerts() == []


def test_a_successor_replaying_a_transition_queues_its_notification_once(workers):
    first, second = workers
    first.ownership.step()
    fired = first.store.fire(new_alert(T0), outgoing)
    first.store.resolve(fired.id, T0 + 60_000, 2.3, "", outgoing)
    take_over(first, second)
    # The successor could not know whether the resolution's notification was queued.
    second.store.resolve(fired.id, T0 + 60_000, 2.3, "", outgoing)
    resolved = [d for d in second.store.deliveries() if d.event_type == "alert.resolved"]
    assert len(resolved) == 1
