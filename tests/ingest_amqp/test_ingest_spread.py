"""Two `serve` workers share the ingest queues by their leases: each consumes only the queues
of the partitions it holds, both store readings, and when one is killed the other takes
every queue and every PUBACKed reading is stored once."""

from __future__ import annotations

import re
import threading
from collections import defaultdict
from pathlib import Path

import httpx
import psycopg
import pytest
from test_eval_partitions import RULES, points_in, worker

from village_brain.core.timefmt import now_ms

from support.acked_device import Device
from support.rabbitmq import RabbitCluster
from support.waiting import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.cluster]

K = 4  # lease partitions
QUEUES = 8  # ingest queues: queue q follows the lease of partition q % K
DEVICES = [f"s{i}" for i in range(24)]


def leases(dsn: str) -> dict[str, set[int]]:
    """Live lease partitions by worker name."""
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT owner, partition FROM partition_leases "
            "WHERE owner IS NOT NULL AND expires_at > now()"
        ).fetchall()
    held: dict[str, set[int]] = defaultdict(set)
    for owner, partition in rows:
        held[owner.split(".")[0]].add(partition)
    return dict(held)


def consumers(rabbit: RabbitCluster, prefix: str) -> dict[str, set[int]]:
    """Ingest queues with a consumer, by worker name (the consumer tag is `{client_id}.{q}`)."""
    listed = rabbit.nodes[0].ctl(
        "list_consumers", "queue_name", "consumer_tag", "--no-table-headers", "-q"
    )
    queue = re.compile(rf"^{re.escape(prefix)}\.(\d+)$")
    found: dict[str, set[int]] = defaultdict(set)
    for line in listed.splitlines():
        fields = line.split()
        if len(fields) == 2 and (match := queue.match(fields[0])):
            found[fields[1].split(".")[0]].add(int(match.group(1)))
    return dict(found)


def queues_of(partitions: set[int]) -> set[int]:
    return {q for q in range(QUEUES) if q % K in partitions}


def healthz(url: str) -> dict:
    return httpx.get(url + "/healthz", timeout=5).json()


def stored(url: str) -> int:
    return httpx.get(url + "/api/v1/ingest/stats", timeout=5).json()["readings_stored"]


def test_two_workers_consume_the_queues_of_their_leases_and_one_takes_all_when_the_other_dies(
    rabbit, influx, queue_prefix, postgres_dsn, tmp_path: Path
):
    rules = tmp_path / "rules.toml"
    rules.write_text(RULES, "utf-8")
    db = influx.create_database(queue_prefix.replace(".", "_"))
    first = worker(tmp_path, "wa", rabbit, queue_prefix, influx, db, postgres_dsn, rules)
    second = worker(tmp_path, "wb", rabbit, queue_prefix, influx, db, postgres_dsn, rules)
    for process in (first, second):
        process.env["VILLAGE_BRAIN_AMQP__PARTITIONS"] = str(QUEUES)
        process.env["VILLAGE_BRAIN_CLUSTER__PARTITIONS"] = str(K)
    device = Device(rabbit.nodes[0].mqtt_port)
    try:
        first.start()
        second.start()
        wait_until(
            lambda: sorted(map(len, leases(postgres_dsn).values())) == [K // 2, K // 2],
            timeout=30,
            what="the leases shared fairly",
        )
        held = leases(postgres_dsn)
        wait_until(
            lambda: (
                consumers(rabbit, queue_prefix)
                == {name: queues_of(parts) for name, parts in held.items()}
            ),
            timeout=15,
            what=f"each worker consuming the ingest queues of its leases {held}",
        )
        device.publish_all(DEVICES, now_ms() - 600_000, 20, pace_s=0.02)
        wait_until(
            lambda: all(stored(p.url) > 0 for p in (first, second)),
            timeout=30,
            what="both workers storing readings",
        )
        receiving = {
            name: set(healthz(p.url)["partitions_receiving"])
            for name, p in (("wa", first), ("wb", second))
        }

        feeder = threading.Thread(
            target=device.publish_all, args=(DEVICES, now_ms() - 300_000, 60, 0.05)
        )
        feeder.start()
        first.kill()  # kill -9 mid-stream: what it had not acked comes again
        feeder.join(timeout=60)
        wait_until(
            lambda: consumers(rabbit, queue_prefix) == {"wb": set(range(QUEUES))},
            timeout=30,
            what="the survivor consuming every ingest queue",
        )
        wait_until(device.all_acked, timeout=30, what="every reading PUBACKed")
        want = sorted(device.acked)
        wait_until(
            lambda: len(points_in(influx, db)) >= len(want), timeout=60, what="every reading"
        )
    finally:
        device.close()
        first.kill()
        second.kill()
    for name, parts in held.items():
        assert receiving[name] <= queues_of(parts)  # delivered only from its own queues
    assert sorted(points_in(influx, db)) == want  # every PUBACKed reading, each once
    assert "consuming ingest queues" in second.log_text()
