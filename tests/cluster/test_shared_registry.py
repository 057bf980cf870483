"""Two workers committing batches to one registry in PostgreSQL at once: a device whose
messages reach both (its status hashes to another partition than its telemetry) neither
deadlocks them nor loses a last-seen time to the writer that commits last."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from village_brain.core.devices import Device
from village_brain.store.registry import BatchRecord, RegistryStore

pytestmark = [pytest.mark.integration, pytest.mark.cluster]

DEVICES = [f"d{i:02}" for i in range(40)]
BATCHES = 60


@pytest.fixture
def two_workers(postgres_dsn, tmp_path) -> Iterator[tuple[RegistryStore, RegistryStore]]:
    pair = tuple(
        RegistryStore(tmp_path / f"w{n}.sqlite3", postgres_dsn=postgres_dsn) for n in (1, 2)
    )
    yield pair
    for store in pair:
        store.close()


def batches(worker: int) -> list[BatchRecord]:
    """Every device in every batch, in opposite orders for the two workers, each worker's
    times interleaved with the other's so either may hold the latest."""
    order = DEVICES if worker == 1 else DEVICES[::-1]
    return [
        BatchRecord(
            seen={d: 2 * n + worker for d in order},
            stored={d: 2 * n + worker for d in order},
            statuses={d: ("online", 2 * n + worker) for d in order},
        )
        for n in range(BATCHES)
    ]


def test_two_writers_sharing_devices_neither_deadlock_nor_lose_the_latest_time(two_workers):
    first, second = two_workers
    first.upsert_devices([Device(id=d, village="x") for d in DEVICES])
    failures: list[BaseException] = []

    def run(store: RegistryStore, worker: int) -> None:
        try:
            for batch in batches(worker):
                store.commit(batch)
        except BaseException as exc:  # the test reports it; a thread would swallow it
            failures.append(exc)

    threads = [
        threading.Thread(target=run, args=(store, n)) for n, store in ((1, first), (2, second))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == []
    latest = 2 * (BATCHES - 1) + 2
    assert {row.presence.last_seen_ms for row in second.devices()} == {latest}
    assert {row.presence.last_stored_ms for row in second.devices()} == {latest}


def test_a_device_one_worker_registers_is_seen_by_the_other(two_workers):
    first, second = two_workers
    first.commit(BatchRecord(new_devices=[Device(id="n1", village="x")], seen={"n1": 5}))
    assert second.device("n1").presence.last_seen_ms == 5
