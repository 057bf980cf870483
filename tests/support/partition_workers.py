"""`serve` workers sharing partitions through RabbitMQ and PostgreSQL, and what they leave.

Each worker is a real `village-brain serve` (support/serve_process.py) with input amqp and
`[cluster] postgres_dsn`; the helpers read the leases, alert timelines and queue leaders the
tests judge them by.
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

from village_brain.alerts.records import Webhook
from village_brain.alerts.store import AlertStore
from village_brain.core.timefmt import now_ms

from support.rabbitmq import RabbitCluster
from support.serve_process import ServeProcess


def partition_worker(
    tmp_path: Path,
    name: str,
    rabbit: RabbitCluster,
    prefix: str,
    partitions: int,
    lease_s: float,
    dsn: str,
    rules: Path,
    store_env: dict[str, str],
) -> ServeProcess:
    """A worker consuming the partition queues; `store_env` says where its series go."""
    process = ServeProcess(
        rabbit.nodes[0].mqtt_url, tmp_path / name, tmp_path / f"{name}.log", name
    )
    process.env.update(
        {
            "VILLAGE_BRAIN_INGEST__INPUT": "amqp",
            "VILLAGE_BRAIN_AMQP__URLS": json.dumps(rabbit.amqp_urls),
            "VILLAGE_BRAIN_AMQP__PARTITIONS": str(partitions),
            "VILLAGE_BRAIN_AMQP__QUEUE_PREFIX": prefix,
            "VILLAGE_BRAIN_AMQP__PREFETCH": "200",
            "VILLAGE_BRAIN_STORE__BACKEND": "influxdb",
            "VILLAGE_BRAIN_CLUSTER__POSTGRES_DSN": dsn,
            "VILLAGE_BRAIN_CLUSTER__PARTITIONS": str(partitions),
            "VILLAGE_BRAIN_CLUSTER__LEASE_SECONDS": str(lease_s),
            "VILLAGE_BRAIN_ALERTS__RULES_FILE": str(rules),
            "VILLAGE_BRAIN_ALERTS__ALLOW_PRIVATE_TARGETS": "true",
            **store_env,
        }
    )
    return process


def owners(dsn: str) -> Counter:
    """How many partitions each worker holds a live lease on."""
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT owner FROM partition_leases WHERE owner IS NOT NULL AND expires_at > now()"
        ).fetchall()
    return Counter(owner.split(".")[0] for (owner,) in rows)


def transitions(dsn: str) -> Counter:
    """(rule, device, fire|resolve) of every alert timeline entry in the shared store."""
    store = AlertStore(None, postgres_dsn=dsn)
    try:
        seen: Counter = Counter()
        for alert in store.alerts(limit=1000):
            for entry in store.timeline(alert.id):
                action = {"fired": "fire", "resolved": "resolve"}.get(entry.kind)
                if action:
                    seen[(alert.rule_id, alert.device, action)] += 1
        return seen
    finally:
        store.close()


def add_webhook(dsn: str, url: str) -> None:
    store = AlertStore(None, postgres_dsn=dsn)
    store.put_webhook(Webhook("ops", url, "standard", "whsec_dGVzdHNlY3JldA==", now_ms()))
    store.close()


def stall(process: ServeProcess, seconds: float) -> None:
    """SIGSTOP for `seconds` (its connections stay up), then SIGCONT: it carries on with
    what it held, as a paused VM or a long GC pause would."""
    assert process.process is not None
    os.kill(process.process.pid, signal.SIGSTOP)
    time.sleep(seconds)
    os.kill(process.process.pid, signal.SIGCONT)


@contextmanager
def stopped(process: ServeProcess) -> Iterator[None]:
    """SIGSTOP for the body of the with (its connections stay up), then SIGCONT."""
    assert process.process is not None
    os.kill(process.process.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(process.process.pid, signal.SIGCONT)


def queue_leaders(cluster: RabbitCluster, prefix: str) -> Counter:
    """How many of the prefix's partition queues each node leads."""
    ask = next(n for n in cluster.nodes if n.is_running())
    answer = ask.ctl("list_queues", "name", "leader", "--no-table-headers", "-q")
    rows = [line.split() for line in answer.splitlines()]
    return Counter(row[1] for row in rows if len(row) == 2 and row[0].startswith(prefix + "."))


def active_ingest_consumers(cluster: RabbitCluster, prefix: str) -> Counter:
    """How many of the prefix's ingest partition queues each worker is the active consumer
    of (single-active-consumer: the others wait their turn)."""
    ask = next(n for n in cluster.nodes if n.is_running())
    answer = ask.ctl(
        "list_consumers", "queue_name", "consumer_tag", "active", "--no-table-headers", "-q"
    )
    ingest = {f"{prefix}.{p}" for p in range(4096)}
    rows = [line.split() for line in answer.splitlines()]
    # A worker's consumer tag on ingest partition p is "{client id}.{p}".
    return Counter(
        row[1].rsplit(".", 1)[0]
        for row in rows
        if len(row) == 3 and row[0] in ingest and row[2] == "true"
    )
