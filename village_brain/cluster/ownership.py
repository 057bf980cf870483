"""A worker's share of the partitions: taking free ones, renewing its own, handing some back
when other workers join, and noticing the ones it lost.

`step()` is called on the worker's timer, well inside a lease's length (a third of it is
usual). Each call renews what the worker holds, gives up what it may no longer keep, and
takes free partitions up to its fair share: the partitions divided by the live workers.
What changed is returned, so the worker rebuilds the state of partitions it gained (rate
windows from the store, no-data timers from the registry) and drops those it lost.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable

import msgspec
import psycopg

from village_brain.cluster.leases import FenceCounts, Lease, LeaseTable, fence
from village_brain.cluster.partitions import partition_of
from village_brain.cluster.refusals import NotOwned


class Changes(msgspec.Struct, frozen=True):
    gained: list[int]
    lost: list[int]


class Ownership:
    def __init__(self, leases: LeaseTable, owner: str) -> None:
        self.leases = leases
        self.owner = owner
        self.counts = FenceCounts()
        self._held: dict[int, Lease] = {}
        self._lock = threading.Lock()

    def owned(self) -> list[int]:
        """The partitions this worker holds, for health and for the evaluator's filter."""
        with self._lock:
            return sorted(self._held)

    def owns(self, device: str) -> bool:
        with self._lock:
            return partition_of(device, self.leases.partitions) in self._held

    def lease_of(self, device: str) -> Lease:
        with self._lock:
            lease = self._held.get(partition_of(device, self.leases.partitions))
        if lease is None:
            raise NotOwned(f"{self.owner} does not hold the partition of device {device!r}")
        return lease

    def fence_devices(self, conn: psycopg.Connection, devices: Iterable[str]) -> None:
        """Inside a write's transaction: refuse it unless this worker still holds each
        device's partition under the epoch it took it with (AlertStore's `fence`)."""
        leases = {lease.partition: lease for lease in map(self.lease_of, set(devices))}
        for partition in sorted(leases):  # one order everywhere: no lock cycles
            fence(conn, partition, leases[partition].epoch, self.counts)

    def step(self) -> Changes:
        self.leases.heartbeat(self.owner)
        lost = self._renew()
        share = self._share()
        with self._lock:
            excess = sorted(self._held)[share:]
        for partition in excess:
            self.leases.release(self._held[partition])
            lost.append(partition)
            with self._lock:
                del self._held[partition]
        with self._lock:
            room = share - len(self._held)
        gained = []
        if room > 0:
            for lease in self.leases.acquire_free(self.owner, room):
                with self._lock:
                    self._held[lease.partition] = lease
                gained.append(lease.partition)
        return Changes(gained=sorted(gained), lost=sorted(lost))

    def release_all(self) -> list[int]:
        """A clean stop: successors need not wait out the leases."""
        with self._lock:
            held, self._held = list(self._held.values()), {}
        for lease in held:
            self.leases.release(lease)
        self.leases.leave(self.owner)
        return sorted(lease.partition for lease in held)

    def _renew(self) -> list[int]:
        with self._lock:
            held = list(self._held.values())
        lost = []
        for lease in held:
            renewed = self.leases.renew(lease)
            with self._lock:
                if renewed is None:
                    del self._held[lease.partition]
                    lost.append(lease.partition)
                else:
                    self._held[lease.partition] = renewed
        return lost

    def _share(self) -> int:
        others = self.leases.live_owners() - {self.owner}
        return math.ceil(self.leases.partitions / (len(others) + 1))
