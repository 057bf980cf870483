"""/healthz: up or stalled, for probes; how ingest is doing, for those who may read."""

import msgspec
import pytest
from fastapi.testclient import TestClient

from village_brain.api.app import create_app
from village_brain.api.context import ApiContext
from village_brain.auth.gate import Gate
from village_brain.auth.roles import Role
from village_brain.core.catalog import default_catalog
from village_brain.ingest.stats import IngestStats, StatsSnapshot
from village_brain.store.registry import RegistryStore
from village_brain.store.sqlite_series import SqliteSeriesStore

from support.waiting import wait_until


@pytest.fixture
def serve(tmp_path):
    series = SqliteSeriesStore(tmp_path / "series.sqlite3")
    registry = RegistryStore(tmp_path / "registry.sqlite3")

    def client(stats, role: Role | None) -> TestClient:
        ctx = ApiContext(default_catalog(), series, registry, stats)
        ctx.auth = Gate.closed().letting_anyone(role)
        return TestClient(create_app(ctx))

    yield client
    series.close()
    registry.close()


def stalled_stats() -> StatsSnapshot:
    stats = IngestStats()
    # Nothing committed, and messages waiting longer than the (tiny) limit.
    return wait_until(
        lambda: (snap := stats.snapshot(7, True, stall_after_s=0.01)).stalled and snap,
        what="the stall limit to pass",
    )


def test_a_stalled_ingest_answers_503_and_a_stranger_learns_only_the_word(serve):
    snap = stalled_stats()
    response = serve(lambda: snap, None).get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "stalled"}


def test_a_reader_sees_what_is_waiting_and_how_often_the_writer_restarted(serve):
    snap = stalled_stats()
    body = serve(lambda: snap, Role.VIEWER).get("/healthz").json()
    assert body == {
        "status": "stalled",
        "broker_connected": True,
        "pending_messages": 7,
        "writer_restarts": 0,
    }


def test_a_reader_sees_how_many_committed_batches_wait_for_alert_evaluation(serve):
    stats = IngestStats()
    snap = msgspec.structs.replace(stats.snapshot(0, True), alert_batches_waiting=3)
    api = serve(lambda: snap, Role.VIEWER)
    assert api.get("/healthz").json()["alert_batches_waiting"] == 3
    assert api.get("/api/v1/ingest/stats").json()["alert_batches_waiting"] == 3
    assert serve(lambda: snap, None).get("/healthz").json() == {"status": "ok"}


def test_messages_waiting_on_a_writer_that_keeps_up_are_not_a_stall(serve):
    stats = IngestStats()
    stats.record_batch(1, 1, 1, [])
    response = serve(lambda: stats.snapshot(3, True, stall_after_s=60), None).get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_an_idle_writer_is_not_stalled_however_long_ago_it_last_committed():
    stats = IngestStats()
    wait_until(lambda: stats.snapshot(1, True, stall_after_s=0.01).stalled, what="a stall")
    stats.note_idle()
    assert not stats.snapshot(0, True, stall_after_s=0.01).stalled
    assert not stats.snapshot(1, True, stall_after_s=60).stalled
