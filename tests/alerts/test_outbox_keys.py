"""The outbox keeps one row per (alert, transition, channel): its delivery key is unique, and
an outbox made before the key existed gains it when opened."""

from __future__ import annotations

import sqlite3

from village_brain.alerts.records import Alert, NewAlert, Outgoing, TimelineEntry
from village_brain.alerts.store import AlertStore

NEW = NewAlert("r", "河道水位", "critical", "threshold", "xs", "g1", "water_level", "", 1_000, 3.5)


def rows_for(webhooks: list[str]):
    def outgoing(alert: Alert, entry: TimelineEntry) -> list[Outgoing]:
        msg = f"msg_alert{alert.id}_{entry.id}"
        return [Outgoing(w, msg, "alert.firing", "{}", f"{msg}.{w}") for w in webhooks]

    return outgoing


def test_the_same_delivery_key_twice_in_one_change_is_one_row(tmp_path):
    store = AlertStore(tmp_path / "a.sqlite3", "normal")
    try:
        store.fire(NEW, rows_for(["wh_1", "wh_1", "wh_2"]))
        keys = sorted(d.delivery_key for d in store.deliveries())
    finally:
        store.close()
    assert keys == ["msg_alert1_1.wh_1", "msg_alert1_1.wh_2"]


def test_an_outbox_from_before_delivery_keys_gains_them_and_keeps_its_rows(tmp_path):
    path = tmp_path / "a.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.execute(
            "CREATE TABLE outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, webhook_id TEXT NOT "
            "NULL, alert_id INTEGER NOT NULL, msg_id TEXT NOT NULL, event_type TEXT NOT NULL, "
            "body TEXT NOT NULL, state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, "
            "created_ms INTEGER NOT NULL, next_attempt_ms INTEGER, last_attempt_ms INTEGER, "
            "delivered_ms INTEGER, last_status INTEGER, last_error TEXT)"
        )
        conn.execute(
            "INSERT INTO outbox (webhook_id, alert_id, msg_id, event_type, body, state, "
            "created_ms, next_attempt_ms) VALUES ('wh_1', 1, 'm1', 'alert.firing', '{}', "
            "'pending', 1, 1)"
        )
    store = AlertStore(path, "normal")
    try:
        (old,) = store.deliveries()
        store.fire(NEW, rows_for(["wh_1"]))
        assert len(store.deliveries()) == 2
    finally:
        store.close()
    assert old.msg_id == "m1" and old.delivery_key == "m1.wh_1#1"
