"""Alert evaluation owned per partition across two `serve` workers on RabbitMQ and a shared
PostgreSQL: one is killed with kill -9 while a `for` is pending, the other takes its
partitions after the lease, and the alerts and notifications are a single process's."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest
from alerts.receivers import receiving

from village_brain.alerts.evaluator import Evaluator
from village_brain.alerts.rules import load_rules
from village_brain.cluster.partitions import partition_of
from village_brain.core.catalog import load_catalog
from village_brain.core.records import Reading
from village_brain.core.timefmt import now_ms

from support.acked_device import Device
from support.influx import InfluxServer
from support.partition_workers import add_webhook, owners, partition_worker, transitions
from support.partition_workers import stall as pause
from support.rabbitmq import RabbitCluster
from support.serve_process import ServeProcess
from support.waiting import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.cluster]

K = 4
LEASE_S = 2
STEP_MS = 100  # reading time between a device's readings, and wall time between rounds
ROUNDS = 110
DEVICES = [f"e{i}" for i in range(8)]  # two in each of the K partitions
TOPIC = "village/hegang/{}/telemetry"

RULES = """
[[rule]]
id = "held"
name = "River above the line for three seconds"
severity = "major"
kind = "threshold"
sensor = "water_level"
above = 5.0
for = "3s"

[[rule]]
id = "fast"
name = "River rising fast"
severity = "warning"
kind = "rate"
sensor = "water_level"
rise = 2.0
within = "2s"
"""


def level(i: int) -> float:
    """Calm, then above the line for six seconds (a rise, then a held breach), then calm."""
    return 6.0 if 20 <= i < 80 else 1.0


class LevelDevice(Device):
    def publish_level(self, device: str, ts: int, value: float) -> None:
        payload = json.dumps({"ts": ts, "values": {"water_level": value}})
        info = self.client.publish(TOPIC.format(device), payload, qos=1)
        with self._lock:
            if info.mid in self._early:
                self._early.discard(info.mid)
                self.acked.append((device, ts))
            else:
                self._pending[info.mid] = (device, ts)


def single_process_transitions(rules_file: Path, t0: int) -> Counter:
    """What one evaluator makes of the same readings, in order."""
    catalog = load_catalog(None)
    evaluator = Evaluator(load_rules(rules_file, catalog), catalog)
    changes = []
    for i in range(ROUNDS):
        readings = [
            Reading("hegang", d, "water_level", t0 + i * STEP_MS, level(i)) for d in DEVICES
        ]
        changes += evaluator.readings(readings)
    return Counter((c.rule.id, c.device, c.action) for c in changes)


def worker(tmp_path: Path, name: str, rabbit: RabbitCluster, prefix: str, influx, db, dsn, rules):
    store_env = {
        "VILLAGE_BRAIN_STORE__INFLUXDB__URL": influx.url,
        "VILLAGE_BRAIN_STORE__INFLUXDB__DATABASE": db,
        "VILLAGE_BRAIN_STORE__INFLUXDB__WRITE_API": "v1",
    }
    return partition_worker(tmp_path, name, rabbit, prefix, K, LEASE_S, dsn, rules, store_env)


def points_in(influx: InfluxServer, database: str) -> list[tuple[str, int]]:
    rows = influx.query('SELECT "value", "device" FROM "reading"', database)
    return [(device, ts) for series in rows for ts, _value, device in series["values"]]


def kill(process: ServeProcess) -> None:
    process.kill()  # kill -9: whatever it committed and had not acked comes again


def stall(process: ServeProcess) -> None:
    """Paused past its lease, then resumed: it carries on with what it held."""
    pause(process, LEASE_S * 2)


@pytest.mark.parametrize("fault", [kill, stall], ids=["killed", "stalled"])
def test_a_worker_killed_or_stalled_mid_for_changes_no_alert_and_no_notification(
    fault, rabbit, influx, queue_prefix, postgres_dsn, tmp_path
):
    rules = tmp_path / "rules.toml"
    rules.write_text(RULES, "utf-8")
    db = influx.create_database(queue_prefix.replace(".", "_"))
    with receiving() as hooks:
        add_webhook(postgres_dsn, hooks.url)
        first = worker(tmp_path, "wa", rabbit, queue_prefix, influx, db, postgres_dsn, rules)
        second = worker(tmp_path, "wb", rabbit, queue_prefix, influx, db, postgres_dsn, rules)
        device = LevelDevice(rabbit.nodes[0].mqtt_port)
        try:
            first.start()
            second.start()
            wait_until(
                lambda: owners(postgres_dsn) == Counter(wa=K // 2, wb=K // 2),
                timeout=30,
                what="the partitions shared fairly",
            )
            t0 = now_ms()

            def feed() -> None:
                for i in range(ROUNDS):
                    for d in DEVICES:
                        device.publish_level(d, t0 + i * STEP_MS, level(i))
                    time.sleep(STEP_MS / 1000)

            feeder = threading.Thread(target=feed)
            feeder.start()
            time.sleep(3.0)  # round ~30: every device's breach is pending, 1 s of its 3 s
            fault(first)
            feeder.join(timeout=60)
            wait_until(device.all_acked, timeout=30, what="every reading PUBACKed")
            want = sorted(device.acked)
            wait_until(
                lambda: len(points_in(influx, db)) >= len(want), timeout=60, what="every reading"
            )
            expected = single_process_transitions(rules, t0)
            wait_until(
                lambda: transitions(postgres_dsn) == expected,
                timeout=30,
                what=f"the alert transitions of one process ({sum(expected.values())})",
            )
            wait_until(
                lambda: len(hooks.bodies()) >= sum(expected.values()),
                timeout=30,
                what="a notification for each transition",
            )
            time.sleep(1.0)  # a repeat would come now
            health = httpx.get(second.url + "/healthz", timeout=5).json()
        finally:
            device.close()
            first.kill()
            second.kill()
        stored = sorted(points_in(influx, db))
        posts = Counter(
            (b["data"]["rule_id"], b["data"]["device"], b["type"]) for b in hooks.bodies()
        )
    assert {partition_of(d, K) for d in DEVICES} == set(range(K))  # the first had some
    assert stored == want  # every PUBACKed reading, each once
    assert expected == Counter(
        {(r, d, a): 1 for r in ("held", "fast") for d in DEVICES for a in ("fire", "resolve")}
    )
    event = {"fire": "alert.firing", "resolve": "alert.resolved"}
    assert posts == Counter({(r, d, event[a]): n for (r, d, a), n in expected.items()})
    assert health["partitions_owned"]  # the survivor says what it evaluates
    if fault is stall:  # it went on writing what it held, and the fence refused it
        assert "alert state of partition" in first.log_text()
