"""The alert store behaves the same on SQLite and on PostgreSQL: the outbox queues, claims
and retries, rules and webhooks made through the API, and the rule state kept for rules."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from village_brain.alerts.records import (
    Alert,
    AttemptResult,
    NewAlert,
    Outgoing,
    TimelineEntry,
    Webhook,
)
from village_brain.alerts.store import AlertStore, Merge

T0 = 1_800_000_000_000


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.integration)])
def store(request, tmp_path) -> Iterator[AlertStore]:
    if request.param == "sqlite":
        opened = AlertStore(tmp_path / "alerts.sqlite3", "normal")
    else:
        opened = AlertStore(None, postgres_dsn=request.getfixturevalue("postgres_dsn"))
    yield opened
    opened.close()


def to(*webhooks: str, group: str = ""):
    def outgoing(alert: Alert, entry: TimelineEntry) -> list[Outgoing]:
        msg = f"msg_{alert.id}_{entry.id}"
        return [
            Outgoing(w, msg, f"alert.{entry.kind}", "{}", f"{msg}.{w}", group) for w in webhooks
        ]

    return outgoing


def fire(store: AlertStore, device: str, deliveries, at_ms: int = T0) -> Alert:
    new = NewAlert("r", "a rule", "major", "threshold", "xs", device, "water_level", "", at_ms)
    return store.fire(new, deliveries)


def test_a_webhook_offers_one_row_at_a_time_and_the_next_after_an_attempt(store):
    fire(store, "g1", to("a", "b"))
    fire(store, "g2", to("a"))
    first = store.claim_due(T0, 10)
    assert sorted(d.webhook_id for d in first) == ["a", "b"]
    assert store.claim_due(T0, 10) == []
    (on_a,) = [d for d in first if d.webhook_id == "a"]
    store.record_attempt(on_a.id, AttemptResult(True, 200), T0 + 1, None)
    (second,) = store.claim_due(T0 + 1, 10)
    assert (second.webhook_id, second.id) == ("a", on_a.id + 2)


def test_a_failed_attempt_waits_until_its_retry_time(store):
    fire(store, "g1", to("a"))
    (row,) = store.claim_due(T0, 10)
    store.record_attempt(row.id, AttemptResult(False, 503, "busy"), T0, T0 + 30_000)
    assert store.claim_due(T0 + 29_999, 10) == []
    assert store.next_due_ms() == T0 + 30_000
    assert [d.attempts for d in store.claim_due(T0 + 30_000, 10)] == [1]


def test_rows_left_sending_by_a_stopped_process_go_back_to_their_queue(store):
    fire(store, "g1", to("a"))
    store.claim_due(T0, 10)
    assert store.release_claims() == 1
    assert len(store.claim_due(T0, 10)) == 1


def test_rows_of_one_group_go_out_as_one_message(store):
    fire(store, "g1", to("a", group="xs"))
    fire(store, "g2", to("a", group="xs"))
    (batch,) = store.claim_batches(T0, 10, lambda _head: Merge(most=5))
    assert len(batch) == 2 and {d.batch for d in batch} == {batch[0].id}
    store.record_attempt([d.id for d in batch], AttemptResult(True, 200), T0 + 5, None)
    assert store.posts_since("a", T0) == [T0 + 5]


def test_deleting_a_webhook_fails_its_pending_rows(store):
    store.put_webhook(Webhook("a", "http://127.0.0.1:9/hook", "standard", "secret", T0))
    assert [w.id for w in store.webhooks()] == ["a"]
    fire(store, "g1", to("a"))
    assert store.delete_webhook("a", T0)
    assert [(d.state, d.last_error) for d in store.deliveries()] == [
        ("failed", "the webhook was deleted")
    ]


def test_an_acknowledgement_and_a_resolution_are_in_the_timeline(store):
    alert = fire(store, "g1", to("a"))
    store.acknowledge(alert.id, "asha", "on my way", T0 + 1, to("a"))
    store.resolve(alert.id, T0 + 2, 1.0, "below", to("a"))
    kinds = [(e.kind, e.by, e.comment) for e in store.timeline(alert.id)]
    assert kinds == [
        ("fired", None, None),
        ("acknowledged", "asha", "on my way"),
        ("resolved", None, "below"),
    ]
    assert store.alerts(state="active") == []


def test_rules_made_through_the_api_are_kept_and_replaced(store):
    store.put_rule("r1", {"id": "r1", "above": 1}, T0)
    store.put_rule("r1", {"id": "r1", "above": 2}, T0 + 1)
    assert store.api_rules() == [{"id": "r1", "above": 2}]
    assert store.delete_rule("r1") and store.api_rules() == []


def test_the_states_of_rules_that_are_gone_are_forgotten(store):
    states = {
        ("kept", "g1", "level"): ("threshold", "xs", {"since": 1}),
        ("gone", "g1", "level"): ("threshold", "xs", {"since": 2}),
    }
    store.save_states(states, T0)
    assert store.forget_states(["kept"]) == 1
    assert store.rule_states() == [(("kept", "g1", "level"), "threshold", "xs", {"since": 1})]
