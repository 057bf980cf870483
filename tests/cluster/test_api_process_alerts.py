"""An api process's alert pages over the shared alert store: what a worker's engine fired is
listed there and staff act on it there; the acknowledgement is in the shared timeline, its
notification in the shared outbox for the workers' dispatchers, and the worker neither
reminds of it nor resolves again what staff resolved by hand."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient

from village_brain.alerts.engine import AlertEngine
from village_brain.alerts.records import Webhook
from village_brain.alerts.store import AlertConflict, AlertStore
from village_brain.api.app import create_app
from village_brain.api_process import ApiProcess
from village_brain.auth.accounts import AccountStore
from village_brain.auth.roles import Role
from village_brain.cluster.leases import LeaseTable
from village_brain.cluster.ownership import Ownership
from village_brain.core.bus import Bus
from village_brain.core.catalog import default_catalog
from village_brain.core.config import AlertSettings, load_settings
from village_brain.core.devices import Device
from village_brain.core.records import Reading
from village_brain.store.registry import BatchRecord, RegistryStore

from support.waiting import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.cluster]

T0 = 1_800_000_000_000
DAY = 86_400_000
RULES = """
[[rule]]
id = "flood"
name = "River above the line"
severity = "major"
kind = "threshold"
sensor = "water_level"
above = 3.0
"""


class Worker:
    """One ingest worker's engine on the shared store, holding the only partition."""

    def __init__(self, dsn: str, rules: Path, tmp_path: Path) -> None:
        self.registry = RegistryStore(tmp_path / "worker.sqlite3", postgres_dsn=dsn)
        self.registry.upsert_devices([Device("g1", "xiashan", sensors=("water_level",))])
        self.ownership = Ownership(LeaseTable(psycopg.connect(dsn, autocommit=True), 1, 30), "w1")
        self.engine = AlertEngine(
            AlertSettings(rules_file=rules),
            default_catalog(),
            self.registry,
            Bus(),
            None,  # type: ignore[arg-type]
            clock=lambda: T0,
            postgres_dsn=dsn,
            fence=self.ownership.fence_devices,
            partitions=1,
        )
        assert self.ownership.step().gained == [0]
        self.engine.take_partitions({0})

    def reading(self, at_ms: int, value: float) -> None:
        self.engine.on_batch([Reading("xiashan", "g1", "water_level", at_ms, value)], BatchRecord())

    def close(self) -> None:
        self.engine.store.close()
        self.ownership.leases.conn.close()
        self.registry.close()


class Api:
    """An api process's app, in this process, with an operator's token."""

    def __init__(self, dsn: str, rules: Path, tmp_path: Path) -> None:
        accounts = AccountStore(tmp_path / "accounts.sqlite3", postgres_dsn=dsn)
        accounts.add("wang", Role.OPERATOR, "river-bank-7", 0)
        token = accounts.add_token("wang", 0)
        accounts.add("li", Role.ADMIN, "village-office-3", 0)
        self.admin = {"Authorization": f"Bearer {accounts.add_token('li', 0)}"}
        accounts.close()
        settings = load_settings(
            None,
            store={"data_dir": str(tmp_path / "api")},
            cluster={"postgres_dsn": dsn},
            alerts={"rules_file": str(rules)},
        )
        self.process = ApiProcess(settings)
        self.client = TestClient(create_app(self.process.api_context()))
        self.client.headers["Authorization"] = f"Bearer {token}"

    def close(self) -> None:
        self.client.close()
        self.process.stop()


@pytest.fixture
def world(postgres_dsn: str, tmp_path: Path) -> Iterator[tuple[Worker, Api]]:
    rules = tmp_path / "rules.toml"
    rules.write_text(RULES, "utf-8")
    store = AlertStore(None, postgres_dsn=postgres_dsn)
    store.put_webhook(Webhook("ops", "https://hooks.example/ops", "standard", "s", T0))
    store.close()
    worker = Worker(postgres_dsn, rules, tmp_path)
    api = Api(postgres_dsn, rules, tmp_path)
    yield worker, api
    api.close()
    worker.close()


def fired(worker: Worker) -> int:
    worker.reading(T0, 3.5)
    (alert,) = worker.engine.store.alerts()
    return alert.id


def test_an_alert_a_worker_fired_is_acknowledged_through_an_api_process(world):
    worker, api = world
    alert_id = fired(worker)

    listed = api.client.get("/api/v1/alerts", params={"state": "active"})
    assert [(a["id"], a["state"]) for a in listed.json()] == [(alert_id, "firing")]
    acked = api.client.post(f"/api/v1/alerts/{alert_id}/ack", json={"comment": "on my way"})

    assert acked.status_code == 200, acked.text
    assert acked.json()["acked_by"] == "wang"
    shared = [(e.kind, e.by, e.comment) for e in worker.engine.store.timeline(alert_id)]
    assert shared == [("fired", None, None), ("acknowledged", "wang", "on my way")]
    timeline = api.client.get(f"/api/v1/alerts/{alert_id}/timeline").json()
    assert [e["kind"] for e in timeline] == ["fired", "acknowledged"]


def test_an_acknowledgement_made_in_an_api_process_waits_in_the_outbox_for_the_workers(world):
    worker, api = world
    alert_id = fired(worker)
    api.client.post(f"/api/v1/alerts/{alert_id}/ack", json={})

    rows = worker.engine.store.deliveries(alert_id=alert_id)
    assert [(d.event_type, d.state) for d in rows] == [
        ("alert.acknowledged", "pending"),
        ("alert.firing", "pending"),
    ]


def test_a_rule_made_in_an_api_process_is_evaluated_by_a_worker_from_its_next_read(world):
    worker, api = world
    low = {"name": "River low", "severity": "minor", "kind": "threshold"}
    low |= {"sensor": "water_level", "below": 0.5}
    made = api.client.put("/api/v1/rules/low", json=low, headers=api.admin)
    assert made.status_code == 200, made.text

    worker.engine.tick(T0)
    worker.reading(T0 + 1000, 0.2)

    assert [a.rule_id for a in worker.engine.store.alerts()] == ["low"]


def test_a_rule_deleted_in_an_api_process_resolves_its_alert_on_a_worker(world):
    worker, api = world
    high = {"name": "River high", "severity": "major", "kind": "threshold"}
    api.client.put(
        "/api/v1/rules/high", json=high | {"sensor": "water_level", "above": 2.0}, headers=api.admin
    )
    worker.engine.tick(T0)
    worker.reading(T0 + 1000, 2.5)
    (alert,) = [a for a in worker.engine.store.alerts() if a.rule_id == "high"]

    assert api.client.delete("/api/v1/rules/high", headers=api.admin).status_code == 204
    worker.engine.tick(T0 + DAY)

    assert worker.engine.store.alert(alert.id).state == "resolved"


def test_a_worker_does_not_remind_of_an_alert_acknowledged_in_an_api_process(world):
    worker, api = world
    alert_id = fired(worker)
    api.client.post(f"/api/v1/alerts/{alert_id}/ack", json={})

    worker.engine.tick(T0 + DAY)

    assert [e.kind for e in worker.engine.store.timeline(alert_id)] == ["fired", "acknowledged"]
    assert worker.engine.store.alert(alert_id).reminders == 0


def test_a_worker_does_not_resolve_again_what_an_api_process_resolved_by_hand(world):
    worker, api = world
    alert_id = fired(worker)
    closed = api.client.post(f"/api/v1/alerts/{alert_id}/resolve", json={"note": "sensor cleaned"})
    assert closed.status_code == 200, closed.text

    worker.reading(T0 + 60_000, 1.0)

    kinds = [e.kind for e in worker.engine.store.timeline(alert_id)]
    assert kinds == ["fired", "resolved"]
    resolved = worker.engine.store.deliveries(alert_id=alert_id, limit=10)
    assert [d.event_type for d in resolved].count("alert.resolved") == 1


def test_an_acknowledgement_waiting_on_a_worker_s_resolution_is_refused(world, postgres_dsn):
    worker, api = world
    alert_id = fired(worker)
    outcome: list[BaseException | None] = []
    assert api.process.alerts is not None
    desk = api.process.alerts

    def acknowledge() -> None:
        try:
            desk.acknowledge(alert_id, "wang", "")
            outcome.append(None)
        except AlertConflict as exc:
            outcome.append(exc)

    resolving = psycopg.connect(postgres_dsn)
    watch = psycopg.connect(postgres_dsn, autocommit=True)
    with resolving, watch:
        # A worker's resolution holds the row, not yet committed, when the desk reads it.
        resolving.execute("UPDATE alerts SET state = 'resolved' WHERE id = %s", (alert_id,))
        thread = threading.Thread(target=acknowledge)
        thread.start()
        wait_until(
            lambda: (
                watch.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                ).fetchone()[0]
                == 1
            ),
            timeout=10,
            what="the acknowledgement to wait for the row",
        )
        resolving.commit()
        thread.join(10)

    assert isinstance(outcome[0], AlertConflict)
    assert worker.engine.store.alert(alert_id).state == "resolved"


def test_a_worker_reminds_again_once_an_api_process_takes_the_acknowledgement_back(world):
    worker, api = world
    alert_id = fired(worker)
    api.client.post(f"/api/v1/alerts/{alert_id}/ack", json={})
    worker.engine.tick(T0 + DAY)
    api.client.post(f"/api/v1/alerts/{alert_id}/unack")

    worker.engine.tick(T0 + 2 * DAY)

    kinds = [e.kind for e in worker.engine.store.timeline(alert_id)]
    assert kinds == ["fired", "acknowledged", "unacknowledged", "reminded"]


def test_a_silence_made_in_an_api_process_holds_a_worker_s_notifications(world):
    worker, api = world
    made = api.client.post(
        "/api/v1/silences",
        json={"matchers": {"device": "g1"}, "reason": "dredging", "duration": "400d"},
    )
    assert made.status_code == 201, made.text

    worker.engine.tick(T0)
    alert_id = fired(worker)

    assert worker.engine.store.deliveries(alert_id=alert_id) == []
