"""A worker's share of the partitions: workers split them, a new worker is handed some, a
stalled worker's go to the others, and a write for a partition one lost is refused."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from village_brain.cluster.leases import LeaseTable, StaleEpoch
from village_brain.cluster.ownership import NotOwned, Ownership
from village_brain.cluster.partitions import partition_of

from support.waiting import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.cluster]

PARTITIONS = 6
SHORT = 1.0


@pytest.fixture
def workers(postgres_dsn) -> Iterator:
    made: list[Ownership] = []

    def make(name: str, lease_seconds: float = 30.0) -> Ownership:
        conn = psycopg.connect(postgres_dsn, autocommit=True)
        worker = Ownership(LeaseTable(conn, PARTITIONS, lease_seconds), name)
        made.append(worker)
        return worker

    yield make
    for worker in made:
        worker.leases.conn.close()


def settle(*workers: Ownership) -> None:
    for _ in range(3):
        for worker in workers:
            worker.step()


def test_one_worker_takes_every_partition(workers):
    only = workers("w1")
    changes = only.step()
    assert changes.gained == only.owned() == list(range(PARTITIONS))


def test_a_worker_that_joins_is_handed_its_share(workers):
    first = workers("w1")
    first.step()
    second = workers("w2")
    second.step()  # announces itself; nothing is free yet
    changes = first.step()
    assert len(changes.lost) == PARTITIONS // 2
    second.step()
    assert sorted(first.owned() + second.owned()) == list(range(PARTITIONS))
    assert len(second.owned()) == PARTITIONS // 2


def test_a_stalled_worker_s_partitions_go_to_the_others(workers):
    stalled, steady = workers("w1", SHORT), workers("w2", SHORT)
    settle(stalled, steady)
    theirs = stalled.owned()
    assert theirs and steady.owned()

    def all_taken() -> bool:
        steady.step()
        return steady.owned() == list(range(PARTITIONS))

    wait_until(all_taken, timeout=15 * SHORT, what="the stalled worker's partitions")
    assert stalled.step().lost == theirs


def test_a_write_for_a_device_of_a_lost_partition_is_refused(workers):
    stalled, steady = workers("w1", SHORT), workers("w2", SHORT)
    stalled.step()
    device = next(f"d{i}" for i in range(100) if partition_of(f"d{i}", PARTITIONS) == 0)
    lease = stalled.lease_of(device)

    def taken() -> bool:
        steady.step()
        return 0 in steady.owned()

    wait_until(taken, timeout=15 * SHORT, what="the takeover")
    conn = stalled.leases.conn
    with pytest.raises(StaleEpoch), conn.transaction():
        stalled.fence_devices(conn, [device])
    assert stalled.counts.refused == {lease.partition: 1}


def test_a_device_of_a_partition_never_held_is_not_this_worker_s(workers):
    idle = workers("w1")
    assert not idle.owns("g1")
    with pytest.raises(NotOwned, match="does not hold the partition of device 'g1'"):
        idle.lease_of("g1")


def test_a_clean_stop_hands_the_partitions_over_at_once(workers):
    leaving, staying = workers("w1"), workers("w2")
    settle(leaving, staying)
    gone = leaving.release_all()
    assert staying.step().gained == gone
