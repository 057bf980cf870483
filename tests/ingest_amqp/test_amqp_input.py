"""The AMQP input on a real RabbitMQ: MQTT in through its plugin, partitions out, acks after
commit, and a second worker taking a dead one's partitions."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pika
import pytest
from integration.harness import make_service

from village_brain.core.timefmt import now_ms
from village_brain.ingest.amqp_receiver import AmqpReceiver
from village_brain.ingest.amqp_topology import Topology
from village_brain.ingest.pipeline import InboundMessage
from village_brain.ingest.topics import SUBSCRIPTIONS

from support.acked_device import Device
from support.influx import InfluxServer
from support.rabbitmq import RabbitCluster
from support.serve_process import ServeProcess
from support.waiting import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.cluster]

PARTITIONS = 4


def amqp_settings(cluster: RabbitCluster, prefix: str) -> dict:
    return {"urls": cluster.amqp_urls, "partitions": PARTITIONS, "queue_prefix": prefix}


def test_readings_published_over_mqtt_to_rabbitmq_are_stored(rabbit, queue_prefix, tmp_path):
    node = rabbit.nodes[0]
    service = make_service(
        node.mqtt_url,
        tmp_path / "data",
        "worker-a",
        ingest={"input": "amqp"},
        amqp=amqp_settings(rabbit, queue_prefix),
    )
    service.start()
    device = Device(node.mqtt_port)
    try:
        wait_until(service.receiver.connected.is_set, timeout=30, what="the worker to consume")
        device.publish_all(["d1", "d2", "d3"], now_ms() - 60_000, 50, pace_s=0)
        wait_until(device.all_acked, timeout=30, what="the broker to PUBACK every reading")
        wait_until(
            lambda: service.stats.stored == 150, timeout=30, what="every reading to be stored"
        )
        assert {v.sensor for v in service.series.latest("d2")} == {"water_level"}
        assert service.snapshot().partitions_receiving  # it knows which partitions feed it
    finally:
        device.close()
        service.stop()


def test_each_device_s_readings_arrive_in_the_order_published(rabbit, queue_prefix):
    got: queue.SimpleQueue[InboundMessage] = queue.SimpleQueue()
    receiver = AmqpReceiver(
        rabbit.amqp_urls, got.put, Topology(queue_prefix, PARTITIONS), SUBSCRIPTIONS, prefetch=50
    )
    receiver.start()
    device = Device(rabbit.nodes[0].mqtt_port)
    devices, count = [f"o{i}" for i in range(12)], 40
    seen: dict[str, list[int]] = {d: [] for d in devices}
    try:
        wait_until(receiver.connected.is_set, timeout=30, what="the receiver to consume")
        threading.Thread(
            target=device.publish_all, args=(devices, 1_000, count, 0), daemon=True
        ).start()
        for _ in range(len(devices) * count):
            msg = got.get(timeout=30)
            seen[msg.topic.split("/")[2]].append(json.loads(msg.payload)["ts"])
            receiver.ack_all([msg])
        partitions = receiver.receiving_partitions()
    finally:
        device.close()
        receiver.stop()
    assert all(ts == list(range(1_000, 1_000 + count)) for ts in seen.values()), seen
    assert len(partitions) > 1  # the devices spread over the partitions


def points_in(influx: InfluxServer, database: str) -> list[tuple[str, int]]:
    rows = influx.query('SELECT "value", "device" FROM "reading"', database)
    return [(device, ts) for series in rows for ts, _value, device in series["values"]]


def worker(tmp_path: Path, name: str, cluster: RabbitCluster, prefix: str, influx, db: str):
    process = ServeProcess(
        cluster.nodes[0].mqtt_url, tmp_path / name, tmp_path / f"{name}.log", name
    )
    process.env.update(
        {
            "VILLAGE_BRAIN_INGEST__INPUT": "amqp",
            "VILLAGE_BRAIN_AMQP__URLS": json.dumps(cluster.amqp_urls),
            "VILLAGE_BRAIN_AMQP__PARTITIONS": str(PARTITIONS),
            "VILLAGE_BRAIN_AMQP__QUEUE_PREFIX": prefix,
            "VILLAGE_BRAIN_AMQP__PREFETCH": "200",
            "VILLAGE_BRAIN_STORE__BACKEND": "influxdb",
            "VILLAGE_BRAIN_STORE__INFLUXDB__URL": influx.url,
            "VILLAGE_BRAIN_STORE__INFLUXDB__DATABASE": db,
            "VILLAGE_BRAIN_STORE__INFLUXDB__WRITE_API": "v1",
        }
    )
    return process


def test_a_worker_killed_mid_stream_hands_its_partitions_to_another_and_nothing_is_lost(
    rabbit, influx, queue_prefix, tmp_path
):
    db = influx.create_database(queue_prefix.replace(".", "_"))
    first = worker(tmp_path, "worker-a", rabbit, queue_prefix, influx, db)
    second = worker(tmp_path, "worker-b", rabbit, queue_prefix, influx, db)
    device = Device(rabbit.nodes[0].mqtt_port)
    devices, count = [f"k{i}" for i in range(10)], 300
    feeder = threading.Thread(
        target=device.publish_all, args=(devices, now_ms() - 3_600_000, count, 0.002)
    )
    try:
        first.start()  # the first consumer of every partition is its active one
        second.start()
        feeder.start()
        wait_until(lambda: len(points_in(influx, db)) >= 500, timeout=60, what="some readings")
        first.kill()  # kill -9: whatever it committed and had not acked comes again
        killed_at = len(points_in(influx, db))
        feeder.join(timeout=90)
        wait_until(device.all_acked, timeout=30, what="the broker to PUBACK every reading")
        want = sorted(device.acked)
        wait_until(
            lambda: len(points_in(influx, db)) >= len(want), timeout=60, what="every reading"
        )
        taken_over = httpx.get(second.url + "/api/v1/ingest/stats", timeout=5).json()
    finally:
        device.close()
        first.kill()
        second.kill()
    stored = sorted(points_in(influx, db))
    assert killed_at < len(devices) * count, "the kill came too late to test anything"
    assert stored == want  # every PUBACKed reading, each once
    assert taken_over["readings_stored"] > 0  # the standby took the dead worker's partitions


def test_amqp_setup_declares_the_partitions_before_any_worker_runs(rabbit, queue_prefix):
    env = {
        **os.environ,
        "VILLAGE_BRAIN_AMQP__URLS": json.dumps(rabbit.amqp_urls),
        "VILLAGE_BRAIN_AMQP__PARTITIONS": "3",
        "VILLAGE_BRAIN_AMQP__QUEUE_PREFIX": queue_prefix,
    }
    command = [sys.executable, "-m", "village_brain.cli", "amqp", "setup"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    connection = pika.BlockingConnection(pika.URLParameters(rabbit.amqp_urls[0]))
    try:
        channel = connection.channel()
        for partition in range(3):  # passive: fails unless the queue exists
            channel.queue_declare(f"{queue_prefix}.{partition}", passive=True)
    finally:
        connection.close()
