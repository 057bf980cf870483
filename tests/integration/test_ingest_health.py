"""/healthz tells a stalled ingest from a working one, and a failed writer is restarted."""

import json
import threading
from collections.abc import Iterator, Sequence

import pytest

from village_brain.core.timefmt import now_ms
from village_brain.ingest.pipeline import InboundMessage

from harness import Publisher, RunningService
from support.waiting import wait_until

pytestmark = pytest.mark.integration

TOPIC = "village/xiashan/gauge-1/telemetry"


class UnpluggedSeries:
    """The service's own store, behind a plug: while pulled, writes fail as on a lost disk."""

    def __init__(self, store) -> None:
        self.store = store
        self.pulled = threading.Event()

    def write(self, readings):
        if self.pulled.is_set():
            raise OSError("disk unavailable")
        return self.store.write(readings)

    def __getattr__(self, name):
        return getattr(self.store, name)


@pytest.fixture
def own_broker(restartable_mosquitto):
    """A broker of the test's own, so that no retained message of another test arrives."""
    return restartable_mosquitto


@pytest.fixture
def device(own_broker) -> Iterator[Publisher]:
    pub = Publisher(own_broker.url)
    yield pub
    pub.close()


def health(running: RunningService) -> tuple[int, dict]:
    response = running.api.get("/healthz")
    return response.status_code, response.json()


def points(running: RunningService) -> int:
    db = running.service.series.db  # type: ignore[attr-defined]
    return db.reader().execute("SELECT count(*) FROM points").fetchone()[0]


def reading(value: float) -> str:
    return json.dumps({"ts": now_ms(), "values": {"water_level": value}})


def test_a_store_outage_makes_healthz_answer_stalled_until_it_ends(
    own_broker, device, start_service
):
    running = start_service(url=own_broker.url, ingest={"stall_after": "1s"})
    plug = UnpluggedSeries(running.service.writer.series)
    running.service.writer.series = plug
    assert health(running)[0] == 200
    plug.pulled.set()
    device.publish(TOPIC, reading(1.0))
    _, body = wait_until(
        lambda: (answer := health(running))[0] == 503 and answer, what="healthz to say stalled"
    )
    assert body["status"] == "stalled" and body["pending_messages"] == 1
    plug.pulled.clear()
    wait_until(lambda: running.stored() == 1, timeout=30, what="the reading after the outage")
    assert health(running) == (200, {**body, "status": "ok", "pending_messages": 0})


def test_a_writer_that_fails_is_restarted_and_ingest_goes_on(own_broker, device, start_service):
    running = start_service(url=own_broker.url)
    writer = running.service.writer
    acknowledge = writer.ack
    failures = []

    def ack_failing_once(messages: Sequence[InboundMessage]) -> None:
        if not failures:
            failures.append(messages)
            raise RuntimeError("an unforeseen fault in the writer")
        acknowledge(messages)

    writer.ack = ack_failing_once
    device.publish(TOPIC, reading(1.0))
    wait_until(lambda: running.service.stats.messages == 1, what="the message after a restart")
    device.publish(TOPIC, reading(2.0))
    wait_until(lambda: running.service.stats.messages == 2, what="a message after the restart")
    assert points(running) == 2
    status, body = health(running)
    assert (status, body["status"], body["writer_restarts"]) == (200, "ok", 1)
    stats = running.api.get("/api/v1/ingest/stats").json()
    assert (stats["stalled"], stats["writer_restarts"]) == (False, 1)
    assert body["pending_messages"] == 0 and len(failures) == 1


def test_a_batch_waiting_for_alert_evaluation_is_counted_until_it_is_evaluated(
    own_broker, device, start_service
):
    running = start_service(url=own_broker.url)
    engine = running.service.alerts
    evaluate, release = engine.on_batch, threading.Event()

    def held(*batch) -> None:
        release.wait(timeout=30)
        evaluate(*batch)

    engine.on_batch = held
    assert health(running)[1]["alert_batches_waiting"] == 0
    device.publish(TOPIC, reading(1.0))
    wait_until(lambda: health(running)[1]["alert_batches_waiting"] == 1, what="a batch waiting")
    stats = running.api.get("/api/v1/ingest/stats").json()
    assert (stats["readings_stored"], stats["alert_batches_waiting"]) == (1, 1)
    release.set()
    wait_until(lambda: health(running)[1]["alert_batches_waiting"] == 0, what="its evaluation")
