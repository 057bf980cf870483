"""The AMQP input on a 3-node RabbitMQ cluster: the node leading the partition queues is
killed mid-stream, and every reading the broker PUBACKed is stored, once."""

from __future__ import annotations

import threading

import pytest
from integration.harness import make_service

from village_brain.core.timefmt import now_ms

from support.acked_device import Device
from support.serve_process import stored_points
from support.waiting import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.cluster]


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
        wait_until(device.all_acked, timeout=60, what="the broker to PUBACK every reading")
        wait_until(
            lambda: stored_points(data) >= len(device.acked), timeout=90, what="every reading"
        )
        device.close()
    finally:
        service.stop()
        if not leader.is_running():
            leader.start()  # the session's cluster stays whole for the next test
    assert killed_at < len(devices) * count, "the kill came too late to test anything"
    published = len(devices) * count
    # Every reading was PUBACKed, and the store, keyed by device, sensor and time, holds each
    # of them: none lost, and a redelivered one counted as a duplicate, not stored again.
    assert len(set(device.acked)) == published
    assert stored_points(data) == published
