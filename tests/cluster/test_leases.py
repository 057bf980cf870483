"""Partition leases: one owner at a time, a new epoch at every change of owner, the
database's clock, and fencing that refuses a stalled former owner's writes."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import psycopg
import pytest

from village_brain.cluster.leases import (
    FenceCounts,
    Lease,
    LeaseTable,
    StaleEpoch,
    connect_for_state,
    fence,
)
from village_brain.cluster.partitions import partition_of

from support.waiting import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.cluster]

SHORT = 1.0  # seconds: a lease the tests wait out


@pytest.fixture
def connect(postgres_dsn) -> Iterator:
    opened: list[psycopg.Connection] = []

    def open_one() -> psycopg.Connection:
        conn = psycopg.connect(postgres_dsn, autocommit=True)
        opened.append(conn)
        return conn

    yield open_one
    for conn in opened:
        conn.close()


def table(connect, lease_seconds: float = 30.0, partitions: int = 4) -> LeaseTable:
    return LeaseTable(connect(), partitions, lease_seconds)


def expired(leases: LeaseTable, lease: Lease) -> bool:
    """By the database's clock, which is the one that counts."""
    (now,) = leases.conn.execute("SELECT now()").fetchone()
    return now >= lease.expires_at


def write_note(conn: psycopg.Connection, lease: Lease, text: str, counts: FenceCounts) -> None:
    with conn.transaction():
        fence(conn, lease.partition, lease.epoch, counts)
        conn.execute("INSERT INTO notes (partition, text) VALUES (%s, %s)", (lease.partition, text))


def notes(conn: psycopg.Connection) -> list[str]:
    return [t for (t,) in conn.execute("SELECT text FROM notes ORDER BY id").fetchall()]


@pytest.fixture
def notes_table(connect) -> None:
    connect().execute(
        "CREATE TABLE notes (id SERIAL PRIMARY KEY, partition INTEGER NOT NULL, text TEXT)"
    )


def test_a_partition_never_held_is_taken_under_epoch_one(connect):
    lease = table(connect).acquire(0, "w1")
    assert lease is not None and (lease.owner, lease.epoch) == ("w1", 1)


def test_a_held_partition_is_not_taken_by_another_owner(connect):
    first, second = table(connect), table(connect)
    assert first.acquire(0, "w1") is not None
    assert second.acquire(0, "w2") is None
    assert second.holder(0).owner == "w1"


def test_asking_again_for_a_partition_one_holds_keeps_its_epoch(connect):
    leases = table(connect)
    first = leases.acquire(0, "w1")
    again = leases.acquire(0, "w1")
    assert again is not None and again.epoch == first.epoch
    assert again.expires_at >= first.expires_at


def test_a_released_partition_is_taken_at_once_under_the_next_epoch(connect):
    first, second = table(connect), table(connect)
    lease = first.acquire(0, "w1")
    assert first.release(lease)
    taken = second.acquire(0, "w2")
    assert taken is not None and (taken.owner, taken.epoch) == ("w2", lease.epoch + 1)


def test_an_expired_lease_is_taken_under_the_next_epoch_and_its_owner_cannot_renew(connect):
    first, second = table(connect, SHORT), table(connect, SHORT)
    lease = first.acquire(0, "w1")
    wait_until(lambda: expired(first, lease), timeout=10 * SHORT, what="the lease to run out")
    taken = second.acquire(0, "w2")
    assert taken is not None and taken.epoch == lease.epoch + 1
    assert first.renew(lease) is None


def test_a_lease_that_ran_out_with_no_successor_is_renewed_under_its_epoch(connect):
    leases = table(connect, SHORT)
    lease = leases.acquire(0, "w1")
    wait_until(lambda: expired(leases, lease), timeout=10 * SHORT, what="the lease to run out")
    renewed = leases.renew(lease)
    assert renewed is not None and renewed.epoch == lease.epoch
    assert not expired(leases, renewed)


def test_owners_racing_for_the_same_partitions_each_get_every_one_exactly_once(connect):
    racers = [table(connect, partitions=8) for _ in range(4)]
    start = threading.Barrier(len(racers))
    won: dict[str, list[Lease]] = {}

    def race(i: int) -> None:
        start.wait()
        won[f"w{i}"] = racers[i].acquire_free(f"w{i}", most=8)

    threads = [threading.Thread(target=race, args=(i,)) for i in range(len(racers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    taken = sorted(lease.partition for leases in won.values() for lease in leases)
    assert taken == list(range(8))
    assert {lease.epoch for leases in won.values() for lease in leases} == {1}


def test_a_worker_clock_far_ahead_does_not_take_a_held_lease(connect, monkeypatch):
    first, second = table(connect), table(connect)
    assert first.acquire(0, "w1") is not None
    monkeypatch.setattr(time, "time", lambda: 4_000_000_000.0)
    assert second.acquire(0, "w2") is None


def test_a_stalled_owner_s_write_is_refused_after_a_successor_took_over(connect, notes_table):
    first, second = table(connect, SHORT), table(connect, SHORT)
    counts = FenceCounts()
    stalled = first.acquire(0, "w1")
    write_note(first.conn, stalled, "before the stall", counts)
    wait_until(lambda: expired(first, stalled), timeout=10 * SHORT, what="the lease to run out")
    successor = second.acquire(0, "w2")
    write_note(second.conn, successor, "by the successor", counts)
    with pytest.raises(StaleEpoch, match="partition 0: a write under epoch 1 refused"):
        write_note(first.conn, stalled, "after the stall", counts)
    assert notes(second.conn) == ["before the stall", "by the successor"]
    assert counts.refused == {0: 1}


def test_a_write_of_a_partition_never_leased_is_refused(connect, notes_table):
    leases = table(connect, partitions=2)
    counts = FenceCounts()
    ghost = Lease(7, "w1", 1, datetime.now(UTC))
    with pytest.raises(StaleEpoch, match="no lease row"):
        write_note(leases.conn, ghost, "nowhere", counts)
    assert counts.total() == 1


def test_a_takeover_waits_at_most_a_lease_for_an_owner_paused_inside_a_write(
    postgres_dsn, connect, notes_table
):
    first, second = table(connect, SHORT), table(connect, SHORT)
    lease = first.acquire(0, "w1")
    paused = connect_for_state(postgres_dsn, SHORT)
    try:
        # A write checked its fence and then its process stopped before committing.
        paused.execute("BEGIN")
        fence(paused, 0, lease.epoch, FenceCounts())
        wait_until(lambda: expired(first, lease), timeout=10 * SHORT, what="the lease to run out")
        taken = wait_until(lambda: second.acquire(0, "w2"), timeout=10 * SHORT, what="the takeover")
        assert taken.epoch == lease.epoch + 1
        with pytest.raises(psycopg.errors.IdleInTransactionSessionTimeout):
            paused.execute("INSERT INTO notes (partition, text) VALUES (0, 'late')")
    finally:
        paused.close()


def test_a_device_s_partition_is_the_same_in_every_process():
    assert partition_of("g1", 16) == partition_of("g1", 16)
    assert {partition_of(f"d{i}", 4) for i in range(100)} == {0, 1, 2, 3}
