"""The MQTT client traps that lose data quietly, each pinned down against a real broker."""

import json
import sqlite3
import time

import pytest

from village_brain.core.timefmt import now_ms

from harness import Publisher
from support.waiting import wait_until

pytestmark = pytest.mark.integration


def test_a_store_stalled_beyond_the_keepalive_does_not_cost_the_broker_connection(
    start_service, publisher, tmp_path
):
    # paho runs callbacks on its network thread: if decoding and storing happened there, a
    # slow store would stop keepalives and the broker would drop us after 1.5 keepalives.
    running = start_service(mqtt={"keepalive": 2})
    lock = sqlite3.connect(tmp_path / "data" / "series.sqlite3")
    lock.execute("BEGIN EXCLUSIVE")
    start = now_ms() - 1000
    for i in range(20):
        publisher.publish(
            "village/x/stall/telemetry", json.dumps({"ts": start + i, "values": {"rssi": -70}})
        )
    time.sleep(5)  # more than twice the keepalive, with the writer stuck on the lock
    lock.rollback()
    lock.close()
    wait_until(lambda: running.service.stats.stored == 20, what="the stalled readings")
    assert running.service.receiver.generation == 1, "the connection was dropped and remade"


def test_ingest_resubscribes_when_the_broker_has_forgotten_its_session(
    restartable_mosquitto, start_service
):
    running = start_service(url=restartable_mosquitto.url)
    restartable_mosquitto.stop()
    for stale in restartable_mosquitto.state_dir.glob("*.db"):
        stale.unlink()  # a broker without persistence, or a new one: no session, no subscriptions
    restartable_mosquitto.start()
    wait_until(lambda: running.service.receiver.generation == 2, what="ingest to reconnect")
    wait_until(running.service.receiver.connected.is_set, what="ingest to resubscribe")
    device = Publisher(restartable_mosquitto.url)
    device.publish("village/x/after/telemetry", json.dumps({"values": {"rssi": -70}}))
    device.close()
    wait_until(lambda: running.latest("after"), what="the reading after the restart")
