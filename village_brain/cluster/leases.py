"""Partition leases in PostgreSQL: one owner per partition at a time, and fencing.

A partition's row says who owns it, until when, and under which epoch. Taking a partition
that nobody holds (never held, released, or its lease ran out) raises its epoch by one, so
every owner a partition ever had has an epoch of its own. Every state write of a partition
carries the epoch its writer holds and checks it inside the write's own transaction
(`fence`): a stalled former owner — paused past its lease while a successor took over —
has its writes refused, however late they arrive.

Time is the database's (`now()`): workers' clocks may drift, the database's is the one
every worker reads.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from datetime import datetime

import msgspec
import psycopg

from village_brain.cluster.refusals import StaleEpoch
from village_brain.store.migrate import migrate_postgres, sql_steps


class Lease(msgspec.Struct, frozen=True):
    partition: int
    owner: str
    epoch: int
    expires_at: datetime  # in the database's clock


class FenceCounts:
    """Writes refused by the fence, per partition: what health and the log report."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.refused: dict[int, int] = {}

    def add(self, partition: int) -> None:
        with self._lock:
            self.refused[partition] = self.refused.get(partition, 0) + 1

    def total(self) -> int:
        with self._lock:
            return sum(self.refused.values())


def fence(conn: psycopg.Connection, partition: int, epoch: int, counts: FenceCounts) -> None:
    """Inside a write's transaction: refuse it unless `epoch` is the partition's epoch.

    FOR SHARE holds the lease row until the write commits, so a successor's takeover waits
    for a write that passed the check, and a write checked after the takeover sees the new
    epoch: no write of an old owner ever lands after its successor's first one.
    """
    row = conn.execute(
        "SELECT epoch FROM partition_leases WHERE partition = %s FOR SHARE", (partition,)
    ).fetchone()
    current = None if row is None else int(row[0])
    if current != epoch:
        counts.add(partition)
        raise StaleEpoch(partition, epoch, current)


_RETURNING = "RETURNING partition, owner, epoch, expires_at"


class LeaseTable:
    """One worker's handle on the lease rows (`conn`: its own connection, autocommit)."""

    def __init__(self, conn: psycopg.Connection, partitions: int, lease_seconds: float) -> None:
        if partitions < 1 or lease_seconds <= 0:
            raise ValueError("partitions and lease seconds must be positive")
        self.conn = conn
        self.partitions = partitions
        self.lease_seconds = lease_seconds
        self._lock = threading.Lock()  # a psycopg connection serves one thread at a time
        migrate_postgres(conn, "cluster", sql_steps("cluster", "postgres"))
        with self._lock, conn.transaction():
            conn.cursor().executemany(
                "INSERT INTO partition_leases (partition) VALUES (%s) ON CONFLICT DO NOTHING",
                [(p,) for p in range(partitions)],
            )

    def acquire(self, partition: int, owner: str) -> Lease | None:
        """Take a partition nobody holds, under the next epoch; None while another holds it.
        A partition this owner holds already is renewed instead."""
        with self._lock:
            row = self.conn.execute(
                "UPDATE partition_leases SET owner = %s, epoch = epoch + 1, "
                "expires_at = now() + make_interval(secs => %s), acquired_at = now() "
                "WHERE partition = %s AND (owner IS NULL OR expires_at <= now()) "
                f"{_RETURNING}",
                (owner, self.lease_seconds, partition),
            ).fetchone()
        if row is not None:
            return Lease(*row)
        held = self.holder(partition)
        if held is not None and held.owner == owner:
            return self.renew(held)
        return None

    def renew(self, lease: Lease) -> Lease | None:
        """Extend a lease still under its epoch; None when a successor took the partition.
        A lease that ran out but that nobody took is still this owner's: its epoch stands."""
        with self._lock:
            row = self.conn.execute(
                "UPDATE partition_leases SET expires_at = now() + make_interval(secs => %s) "
                f"WHERE partition = %s AND owner = %s AND epoch = %s {_RETURNING}",
                (self.lease_seconds, lease.partition, lease.owner, lease.epoch),
            ).fetchone()
        return None if row is None else Lease(*row)

    def release(self, lease: Lease) -> bool:
        """Give a partition up at once (a clean stop), so a successor need not wait out the
        lease; the next owner's epoch is still one more."""
        with self._lock:
            done = self.conn.execute(
                "UPDATE partition_leases SET owner = NULL, expires_at = '-infinity' "
                "WHERE partition = %s AND owner = %s AND epoch = %s",
                (lease.partition, lease.owner, lease.epoch),
            )
        return done.rowcount == 1

    def holder(self, partition: int) -> Lease | None:
        """Who holds the partition now, by the database's clock."""
        with self._lock:
            row = self.conn.execute(
                "SELECT partition, owner, epoch, expires_at FROM partition_leases "
                "WHERE partition = %s AND owner IS NOT NULL AND expires_at > now()",
                (partition,),
            ).fetchone()
        return None if row is None else Lease(*row)

    def heartbeat(self, owner: str) -> None:
        """Say this worker is alive for another lease's length, partitions or not."""
        with self._lock:
            self.conn.execute(
                "INSERT INTO cluster_workers (owner, expires_at) "
                "VALUES (%s, now() + make_interval(secs => %s)) "
                "ON CONFLICT (owner) DO UPDATE SET expires_at = excluded.expires_at",
                (owner, self.lease_seconds),
            )

    def leave(self, owner: str) -> None:
        """This worker stops: it no longer counts in the others' fair share."""
        with self._lock:
            self.conn.execute("DELETE FROM cluster_workers WHERE owner = %s", (owner,))

    def live_owners(self) -> set[str]:
        """The workers alive now, by the database's clock."""
        with self._lock:
            rows = self.conn.execute(
                "SELECT owner FROM cluster_workers WHERE expires_at > now()"
            ).fetchall()
        return {owner for (owner,) in rows}

    def acquire_free(self, owner: str, most: int) -> list[Lease]:
        """Take up to `most` partitions nobody holds (a worker's share of the free ones)."""
        taken = []
        for partition in self._free():
            if len(taken) >= most:
                break
            lease = self.acquire(partition, owner)
            if lease is not None:
                taken.append(lease)
        return taken

    def _free(self) -> Iterable[int]:
        with self._lock:
            rows = self.conn.execute(
                "SELECT partition FROM partition_leases "
                "WHERE owner IS NULL OR expires_at <= now() ORDER BY partition"
            ).fetchall()
        return [int(p) for (p,) in rows]


def connect_for_state(dsn: str, lease_seconds: float) -> psycopg.Connection:
    """A connection for a partition's state writes. A worker paused in the middle of a
    write holds its lease row (`fence`); the server ends such a transaction once it has
    idled for a lease's length, so the successor's takeover waits at most that long."""
    conn = psycopg.connect(dsn, autocommit=True)
    timeout_ms = max(1, int(lease_seconds * 1000))
    conn.execute(f"SET idle_in_transaction_session_timeout = {timeout_ms}")
    return conn
