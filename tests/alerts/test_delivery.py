"""The outbox sender against real HTTP receivers: one request per delivery, and a channel
that fails never holds up the others."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import msgspec
import pytest
from receivers import Receiver, receiving

from village_brain.alerts.dispatcher import Dispatcher, RetryPolicy
from village_brain.alerts.records import Alert, NewAlert, Outgoing, TimelineEntry, Webhook
from village_brain.alerts.signing import new_secret
from village_brain.alerts.store import AlertStore
from village_brain.core.timefmt import now_ms

from support.waiting import wait_until

pytestmark = pytest.mark.integration

# Receivers on loopback, and the service's four workers.
POLICY = RetryPolicy(first_retry_ms=1_000, max_retry_ms=2_000, workers=4, allow_private=True)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[AlertStore]:
    opened = AlertStore(tmp_path / "alerts.sqlite3", synchronous="normal")
    yield opened
    opened.close()


def webhook_for(receiver: Receiver, index: int) -> Webhook:
    return Webhook(f"wh_{index}", receiver.url, "standard", new_secret(), now_ms())


def fire_alerts(store: AlertStore, webhooks: list[Webhook], count: int) -> None:
    """`count` alerts, each queued for every webhook, as the engine queues them."""

    def outgoing(alert: Alert, entry: TimelineEntry) -> list[Outgoing]:
        body = json.dumps({"type": "alert.firing", "data": {"id": alert.id}})
        msg = f"msg_alert{alert.id}_{entry.id}"
        return [Outgoing(w.id, msg, "alert.firing", body) for w in webhooks]

    for index in range(count):
        new = NewAlert(
            "river_warning", "River", "major", "threshold", "xs", f"gauge-{index}", "water_level",
            "River: water_level 2.7 m", now_ms(), 2.7,
        )  # fmt: skip
        store.fire(new, outgoing)


def unsent(store: AlertStore) -> int:
    (count,) = (
        store.db.reader()
        .execute("SELECT count(*) FROM outbox WHERE state != 'delivered'")
        .fetchone()
    )
    return int(count)


def distinct(receiver: Receiver) -> int:
    return len({r.headers["webhook-id"] for r in receiver.received})


def duplicates(receiver: Receiver) -> int:
    ids = Counter(r.headers["webhook-id"] for r in receiver.received)
    return sum(n - 1 for n in ids.values())


@pytest.mark.soak
def test_a_burst_of_alerts_sends_each_delivery_exactly_once(store):
    with ExitStack() as stack:
        receivers = [stack.enter_context(receiving()) for _ in range(4)]
        webhooks = [webhook_for(r, i) for i, r in enumerate(receivers)]
        fire_alerts(store, webhooks, 1_000)
        # So patient that no attempt times out and is rightly tried again, however loaded.
        policy = msgspec.structs.replace(POLICY, timeout_s=60.0)
        dispatcher = Dispatcher(store, {w.id: w for w in webhooks}.get, policy)
        dispatcher.start()
        try:
            wait_until(lambda: unsent(store) == 0, timeout=120, what="every delivery")
        finally:
            dispatcher.stop()  # waits for attempts in flight, so late repeats are counted too
    assert [duplicates(r) for r in receivers] == [0, 0, 0, 0]
    assert [len(r.received) for r in receivers] == [1_000] * 4
    attempts = Counter(d.attempts for d in store.deliveries(limit=10_000))
    assert attempts == {1: 4_000}


def test_a_healthy_receiver_is_served_promptly_while_three_others_fail(store):
    alerts = 600
    with ExitStack() as stack:
        timing_out = [stack.enter_context(receiving(delay_s=3.0)) for _ in range(2)]
        erroring = stack.enter_context(receiving(lambda _n: (500, {"error": "down"})))
        healthy = stack.enter_context(receiving())
        receivers = [*timing_out, erroring, healthy]
        webhooks = [webhook_for(r, i) for i, r in enumerate(receivers)]
        fire_alerts(store, webhooks, alerts)
        policy = msgspec.structs.replace(POLICY, timeout_s=1.0)
        dispatcher = Dispatcher(store, {w.id: w for w in webhooks}.get, policy)
        dispatcher.start()
        try:
            # Alone, a loaded two-core machine sends these in a few seconds; queued behind
            # the failing channels' timeouts they would take minutes.
            wait_until(
                lambda: distinct(healthy) == alerts,
                timeout=30,
                what="every delivery to the healthy receiver",
            )
        finally:
            dispatcher.stop()


def test_a_message_whose_attempt_a_stop_interrupted_is_sent_after_a_restart(store):
    with receiving() as receiver:
        webhooks = [webhook_for(receiver, 0)]
        fire_alerts(store, webhooks, 1)
        # Claimed for an attempt by a process that then stopped before writing the outcome.
        assert len(store.claim_due(now_ms(), 1)) == 1
        dispatcher = Dispatcher(store, {w.id: w for w in webhooks}.get, POLICY)
        dispatcher.start()
        try:
            wait_until(lambda: unsent(store) == 0, what="the delivery after the restart")
        finally:
            dispatcher.stop()
    assert len(receiver.received) == 1


def test_a_delivery_whose_outcome_could_not_be_written_is_not_sent_again(store, caplog):
    writer = store.db._writer  # the store's one writing connection

    def refuse_writes(on: bool) -> None:
        with store.db._write_lock:
            writer.execute(f"PRAGMA query_only = {'ON' if on else 'OFF'}")

    def answer(_n: int):
        refuse_writes(True)  # as the disk fills while the receiver takes the message
        return 200, {"ok": True}

    with receiving(answer) as receiver:
        webhooks = [webhook_for(receiver, 0)]
        fire_alerts(store, webhooks, 1)
        dispatcher = Dispatcher(store, {w.id: w for w in webhooks}.get, POLICY)
        dispatcher.start()
        try:
            wait_until(
                lambda: "could not record the attempt" in caplog.text,
                what="the outcome to be refused",
            )
            receiver.answer = lambda _n: (200, {"ok": True})
            refuse_writes(False)
            wait_until(lambda: unsent(store) == 0, what="the outcome to be written")
        finally:
            dispatcher.stop()
    assert len(receiver.received) == 1
