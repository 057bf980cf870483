"""The AMQP input on a 3-node RabbitMQ cluster: the node leading the partition queues is
killed mid-stream, and every reading the broker PUBACKed is stored, once."""

from __future__ import annotations

import sqlite3
import threading
from contextlib import closing
from pathlib import Path

import pytest
from integration.harness import make_service

from village_brain.core.timefmt import now_ms

from support.acked_device import Device
from support.serve_process import stored_points
from support.waiting import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.cluster]


def stored_rows(data_dir: Path) -> list[tuple[str, int]]:
    with closing(sqlite3.connect(data_dir / "series.sqlite3")) as conn:
        query = "SELECT s.device, p.ts FROM points p JOIN series s ON s.id = p.series_id"
        return [tuple(row) for row in conn.execute(query)]


def stored(data_dir: Path) -> set[tuple[str, int]]:
    return set(stored_rows(data_dir))


def leader_of(cluster, queue: str) -> str:
    answer = cluster.nodes[1].ctl("list_queues", "name", "leader", "--no-table-headers", "-q")
    return next(line.split()[1] for line in answer.splitlines() if line.split()[:1] == [queue])


def test_killing_the_queue_leader_node_mid_stream_loses_and_doubles_nothing(
    rabbit_cluster, queue_prefix, tmp_path
):
    cluster = rabbit_cluster
    service = make_service(
        cluster.nodes[0].mqtt_url,
        tmp_path / "data",
        "worker-c",
        ingest={"input": "amqp"},
        amqp={"urls": cluster.amqp_urls, "partitions": 4, "queue_prefix": queue_prefix},
    )
    service.start()
    try:
        wait_until(service.receiver.connected.is_set, timeout=60, what="the worker to consume")
        # Declared through the first node, the queues' leaders live there (client-local).
        leader = next(n for n in cluster.nodes if n.name == leader_of(cluster, f"{queue_prefix}.0"))
        entry = next(n for n in cluster.nodes if n is not leader)
        device = Device(entry.mqtt_port)
        devices, count = [f"c{i}" for i in range(8)], 300
        feeder = threading.Thread(
            target=device.publish_all, args=(devices, now_ms() - 3_600_000, count, 0.003)
        )
        feeder.start()
        data = tmp_path / "data"
        wait_until(lambda: stored_points(data) >= 400, timeout=60, what="some readings")
        leader.kill()
        killed_at = stored_points(data)
        feeder.join(timeout=120)
        # A publish in flight to the dead leader may never be PUBACKed: such a reading is
        # the device's to send again, so only the PUBACKed ones must all be stored.
        wait_until(
            lambda: set(device.acked) <= stored(data), timeout=90, what="every PUBACKed reading"
        )
        device.close()
    finally:
        service.stop()
        if not leader.is_running():
            leader.start()  # the session's cluster stays whole for the next test
    assert killed_at < len(devices) * count, "the kill came too late to test anything"
    rows = stored_rows(data)
    assert len(rows) == len(set(rows))  # none twice
    assert len(set(device.acked)) > len(devices) * count * 0.9, "most were PUBACKed"
