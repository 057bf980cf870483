"""The alert database: alerts and their timeline, API-made rules, webhooks and the outbox.

Every alert change is written with its timeline entry and its outbox messages in one
transaction, so a notification is never lost nor sent for a change that did not happen.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import msgspec

from village_brain.alerts.records import (
    Alert,
    AttemptResult,
    Delivery,
    NewAlert,
    Outgoing,
    TimelineEntry,
    Webhook,
)
from village_brain.store.migrate import Migration, Schema, sql_steps
from village_brain.store.pg_db import PostgresDatabase
from village_brain.store.sqlite_db import Database

# Columns added to the outbox since its first release: (name, definition) for older files.
_OUTBOX_ADDED = (
    ("delivery_key", "TEXT"),
    ("group_key", "TEXT NOT NULL DEFAULT ''"),
    ("batch", "INTEGER"),
)
# One row per (alert, transition, channel), whatever retries a transaction.
_OUTBOX_UNIQUE = "CREATE UNIQUE INDEX IF NOT EXISTS one_delivery_per_key ON outbox (delivery_key)"


def _add_outbox_columns(conn: sqlite3.Connection) -> None:
    have = {row[1] for row in conn.execute("PRAGMA table_info(outbox)")}
    for name, definition in _OUTBOX_ADDED:
        if name not in have:
            conn.execute(f"ALTER TABLE outbox ADD COLUMN {name} {definition}")
    # Rows from before the key: one of their own (their row id keeps them distinct).
    conn.execute(
        "UPDATE outbox SET delivery_key = msg_id || '.' || webhook_id || '#' || id "
        "WHERE delivery_key IS NULL"
    )
    conn.execute(_OUTBOX_UNIQUE)


SQLITE_SCHEMA = Schema(
    "alerts",
    [*sql_steps("alerts", "sqlite"), Migration(2, "outbox_delivery_keys", _add_outbox_columns)],
)
POSTGRES_SCHEMA = Schema("alerts", sql_steps("alerts", "postgres"))
_ALERT_COLUMNS = ", ".join(Alert.__struct_fields__)
_DELIVERY_COLUMNS = ", ".join(Delivery.__struct_fields__)
_ENTRY_COLUMNS = ", ".join(TimelineEntry.__struct_fields__)

Deliveries = Callable[[Alert, TimelineEntry], list[Outgoing]]
Key = tuple[str, str, str]  # rule id, device, subject
# The devices a write is for, checked against the writer's partitions inside its transaction.
Fence = Callable[[Any, list[str]], None]
# Tracker states to write: key -> (kind, village, state).
States = Mapping[Key, tuple[str, str, dict[str, Any]]]


class Merge(msgspec.Struct, frozen=True):
    """How many due rows of a channel one message may carry, and whether of any group."""

    most: int = 1
    any_group: bool = False


class AlertConflict(Exception):
    """The alert is not in a state that allows this (acknowledging a resolved alert)."""


# The advisory lock key that serialises outbox claims across workers ("vb-outbox").
OUTBOX_CLAIM_LOCK = 0x76622D6F7574626F


class AlertStore:
    def __init__(
        self,
        path: Path | None,
        synchronous: str = "full",
        postgres_dsn: str | None = None,
        fence: Fence | None = None,
    ) -> None:
        """In SQLite at `path`, or with `postgres_dsn` in that shared PostgreSQL database.
        `fence` runs first in every write the evaluation makes (a firing, a resolution, a
        reminder, tracker states) with the devices it writes for, and may refuse it: a
        worker's partitions (cluster/ownership.py)."""
        if fence is not None and postgres_dsn is None:
            raise ValueError("fencing needs the shared PostgreSQL database")
        self._fence = fence
        if postgres_dsn is not None:
            self.db: Database | PostgresDatabase = PostgresDatabase(postgres_dsn, POSTGRES_SCHEMA)
        elif path is not None:
            self.db = Database(path, SQLITE_SCHEMA, synchronous)
        else:
            raise ValueError("the alert store needs a file or a PostgreSQL database")

    # --- alert changes -------------------------------------------------------------------

    def fire(self, new: NewAlert, deliveries: Deliveries, states: States | None = None) -> Alert:
        """`deliveries` must not touch the engine or any database: it runs inside the
        transaction (the engine reads what it needs beforehand)."""
        with self.db.transaction() as conn:
            self._fenced(conn, [new.device, *_devices(states)])
            _put_states(conn, states, new.at_ms)
            cursor = conn.execute(
                "INSERT INTO alerts (rule_id, rule_name, severity, kind, village, device, "
                "subject, state, message, started_ms, updated_ms, value, notified_ms) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, 'firing', ?, ?, ?, ?, ?) RETURNING id",
                (
                    new.rule_id,
                    new.rule_name,
                    new.severity,
                    new.kind,
                    new.village,
                    new.device,
                    new.subject,
                    new.message,
                    new.at_ms,
                    new.at_ms,
                    new.value,
                    new.at_ms,
                ),
            )
            alert_id = int(cursor.fetchone()[0])
            return self._after(conn, alert_id, "fired", new.at_ms, deliveries, value=new.value)

    def acknowledge(
        self, alert_id: int, by: str, comment: str, at_ms: int, deliveries: Deliveries
    ) -> Alert:
        with self.db.transaction() as conn:
            alert = self.locked(conn, alert_id)
            if alert.state != "firing":
                raise AlertConflict(f"alert {alert_id} is already {alert.state}")
            conn.execute(
                "UPDATE alerts SET state = 'acknowledged', acked_ms = ?, acked_by = ?, "
                "ack_comment = ?, updated_ms = ? WHERE id = ?",
                (at_ms, by, comment, at_ms, alert_id),
            )
            return self._after(conn, alert_id, "acknowledged", at_ms, deliveries, by, comment)

    def resolve(
        self,
        alert_id: int,
        at_ms: int,
        value: float | None,
        reason: str,
        deliveries: Deliveries,
        states: States | None = None,
    ) -> Alert:
        with self.db.transaction() as conn:
            self._fenced(conn, self._devices_of(conn, alert_id, states))
            _put_states(conn, states, at_ms)
            # Resolved already (by hand, perhaps in another process): nothing more to say.
            changed = conn.execute(
                "UPDATE alerts SET state = 'resolved', resolved_ms = ?, updated_ms = ?, "
                "value = coalesce(?, value) WHERE id = ? AND state != 'resolved'",
                (at_ms, at_ms, value, alert_id),
            ).rowcount
            if not changed:
                return self._alert(conn, alert_id)
            return self._after(
                conn, alert_id, "resolved", at_ms, deliveries, comment=reason or None, value=value
            )

    def remind(self, alert_id: int, at_ms: int, deliveries: Deliveries) -> Alert:
        with self.db.transaction() as conn:
            self._fenced(conn, self._devices_of(conn, alert_id, None))
            # Only a firing alert reminds: one acknowledged or resolved elsewhere (another
            # process's staff) since the engine last read it is handed back as it is now.
            changed = conn.execute(
                "UPDATE alerts SET notified_ms = ?, reminders = reminders + 1 "
                "WHERE id = ? AND state = 'firing'",
                (at_ms, alert_id),
            ).rowcount
            if not changed:
                return self._alert(conn, alert_id)
            return self._after(conn, alert_id, "reminded", at_ms, deliveries)

    def _fenced(self, conn: Any, devices: list[str]) -> None:
        if self._fence is not None:
            self._fence(conn.raw, devices)

    def _devices_of(self, conn: Any, alert_id: int, states: States | None) -> list[str]:
        if self._fence is None:
            return []
        return [self._alert(conn, alert_id).device, *_devices(states)]

    def _after(
        self,
        conn: sqlite3.Connection,
        alert_id: int,
        kind: str,
        at_ms: int,
        deliveries: Deliveries,
        by: str | None = None,
        comment: str | None = None,
        value: float | None = None,
    ) -> Alert:
        cursor = conn.execute(
            "INSERT INTO timeline (alert_id, kind, at_ms, value, by, comment) "
            "VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
            (alert_id, kind, at_ms, value, by, comment),
        )
        entry_id = int(cursor.fetchone()[0])
        entry = TimelineEntry(entry_id, alert_id, kind, at_ms, value, by, comment)  # type: ignore[arg-type]
        alert = self._alert(conn, alert_id)
        put_outgoing(conn, alert_id, at_ms, deliveries(alert, entry))
        return alert

    def locked(self, conn: Any, alert_id: int) -> Alert:
        """The alert, its row locked until the transaction ends, for a change that depends
        on its state: on a shared PostgreSQL a worker's resolution could otherwise commit
        between the read and the write. (SQLite has one writer.)"""
        if not isinstance(self.db, PostgresDatabase):
            return self._alert(conn, alert_id)
        row = conn.execute(
            f"SELECT {_ALERT_COLUMNS} FROM alerts WHERE id = ? FOR UPDATE", (alert_id,)
        ).fetchone()
        if row is None:
            raise KeyError(alert_id)
        return Alert(*row)

    @staticmethod
    def _alert(conn: sqlite3.Connection, alert_id: int) -> Alert:
        row = conn.execute(f"SELECT {_ALERT_COLUMNS} FROM alerts WHERE id = ?", (alert_id,))
        found = row.fetchone()
        if found is None:
            raise KeyError(alert_id)
        return Alert(*found)

    # --- alert queries -------------------------------------------------------------------

    def alert(self, alert_id: int) -> Alert | None:
        try:
            return self._alert(self.db.reader(), alert_id)
        except KeyError:
            return None

    def alerts(
        self,
        state: str | None = None,
        severity: str | None = None,
        village: str | None = None,
        device: str | None = None,
        limit: int = 100,
    ) -> list[Alert]:
        # "active" is a state filter for people: firing or acknowledged.
        by_state = "state != 'resolved'" if state == "active" else "state = :state"
        rows = self.db.reader().execute(
            f"SELECT {_ALERT_COLUMNS} FROM alerts WHERE (:state IS NULL OR {by_state}) "
            "AND (:severity IS NULL OR severity = :severity) "
            "AND (:village IS NULL OR village = :village) "
            "AND (:device IS NULL OR device = :device) ORDER BY id DESC LIMIT :limit",
            {
                "state": state,
                "severity": severity,
                "village": village,
                "device": device,
                "limit": limit,
            },
        )
        return [Alert(*row) for row in rows]

    def open_alerts(self) -> list[Alert]:
        return self.alerts(state="active", limit=1_000_000)

    def timeline(self, alert_id: int) -> list[TimelineEntry]:
        rows = self.db.reader().execute(
            f"SELECT {_ENTRY_COLUMNS} FROM timeline WHERE alert_id = ? ORDER BY id", (alert_id,)
        )
        return [TimelineEntry(*row) for row in rows]

    # --- rule state ----------------------------------------------------------------------

    def save_states(self, states: States, at_ms: int) -> None:
        with self.db.transaction() as conn:
            self._fenced(conn, _devices(states))
            _put_states(conn, states, at_ms)

    def rule_states(self) -> list[tuple[Key, str, str, dict[str, Any]]]:
        rows = self.db.reader().execute(
            "SELECT rule_id, device, subject, kind, village, state FROM rule_state"
        )
        return [((r, d, s), kind, v, json.loads(state)) for r, d, s, kind, v, state in rows]

    def forget_states(self, keep_rules: Iterable[str]) -> int:
        """Drop the states of rules that no longer exist."""
        keep = set(keep_rules)
        with self.db.transaction() as conn:
            held = [r for (r,) in conn.execute("SELECT DISTINCT rule_id FROM rule_state")]
            gone = [(r,) for r in held if r not in keep]
            if not gone:
                return 0
            return conn.executemany("DELETE FROM rule_state WHERE rule_id = ?", gone).rowcount

    # --- rules made through the API ------------------------------------------------------

    def api_rules(self) -> list[dict[str, Any]]:
        rows = self.db.reader().execute("SELECT body FROM rules ORDER BY id")
        return [json.loads(body) for (body,) in rows]

    def api_rule_marks(self) -> list[tuple[str, int]]:
        """Each API rule's id and time of change: whether any changed since one last looked."""
        rows = self.db.reader().execute("SELECT id, updated_ms FROM rules ORDER BY id")
        return [(rule_id, int(updated_ms)) for rule_id, updated_ms in rows]

    def put_rule(self, rule_id: str, body: dict[str, Any], at_ms: int) -> None:
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO rules (id, body, updated_ms) VALUES (?, ?, ?) ON CONFLICT (id) "
                "DO UPDATE SET body = excluded.body, updated_ms = excluded.updated_ms",
                (rule_id, json.dumps(body), at_ms),
            )

    def delete_rule(self, rule_id: str) -> bool:
        with self.db.transaction() as conn:
            return conn.execute("DELETE FROM rules WHERE id = ?", (rule_id,)).rowcount > 0

    # --- webhooks ------------------------------------------------------------------------

    def webhooks(self) -> list[Webhook]:
        rows = self.db.reader().execute("SELECT body FROM webhooks ORDER BY id")
        return [msgspec.json.decode(body, type=Webhook) for (body,) in rows]

    def put_webhook(self, webhook: Webhook) -> None:
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO webhooks (id, body) VALUES (?, ?) "
                "ON CONFLICT (id) DO UPDATE SET body = excluded.body",
                (webhook.id, msgspec.json.encode(webhook).decode()),
            )

    def delete_webhook(self, webhook_id: str, at_ms: int) -> bool:
        with self.db.transaction() as conn:
            gone = conn.execute("DELETE FROM webhooks WHERE id = ?", (webhook_id,)).rowcount
            conn.execute(
                "UPDATE outbox SET state = 'failed', next_attempt_ms = NULL, "
                "last_error = 'the webhook was deleted', last_attempt_ms = ? "
                "WHERE webhook_id = ? AND state = 'pending'",
                (at_ms, webhook_id),
            )
            return gone > 0

    # --- outbox --------------------------------------------------------------------------
    #
    # Each webhook has its own queue: the head of a webhook's queue is its pending row due
    # first, and only a webhook with no row in 'sending' (being attempted) offers its head.
    # The heads are found by walking the webhook ids in the outbox_queue index, one look-up
    # per webhook, so a dead receiver's backlog of thousands of rows costs nothing here and
    # never stands in front of another webhook's messages.

    _HEADS = """
        WITH RECURSIVE hooks (webhook_id) AS (
            SELECT min(webhook_id) FROM outbox WHERE state = 'pending'
            UNION ALL
            SELECT (SELECT min(webhook_id) FROM outbox
                    WHERE state = 'pending' AND webhook_id > hooks.webhook_id)
            FROM hooks WHERE hooks.webhook_id IS NOT NULL
        ),
        heads (id) AS (
            SELECT (SELECT id FROM outbox
                    WHERE state = 'pending' AND webhook_id = hooks.webhook_id
                    ORDER BY next_attempt_ms, id LIMIT 1)
            FROM hooks
            WHERE hooks.webhook_id IS NOT NULL AND NOT EXISTS (
                SELECT 1 FROM outbox
                WHERE state = 'sending' AND webhook_id = hooks.webhook_id)
        )
    """

    def _claiming(self, conn: Any) -> None:
        """On a shared PostgreSQL, one worker's dispatcher claims at a time: two that read
        the same pending heads at once would both send them. (SQLite has one writer.)"""
        if isinstance(self.db, PostgresDatabase):
            conn.execute("SELECT pg_advisory_xact_lock(?)", (OUTBOX_CLAIM_LOCK,))

    def claim_due(self, now_ms: int, limit: int) -> list[Delivery]:
        """Take up to `limit` due rows, at most one per webhook and none of a webhook that has
        one in flight, earliest due first, and mark them 'sending'. A row is attempted only
        by whoever claimed it; `record_attempt` hands it back."""
        with self.db.transaction() as conn:
            self._claiming(conn)
            rows = conn.execute(
                f"{self._HEADS} SELECT {_DELIVERY_COLUMNS} FROM outbox JOIN heads USING (id) "
                "WHERE next_attempt_ms <= ? ORDER BY next_attempt_ms, id LIMIT ?",
                (now_ms, limit),
            ).fetchall()
            deliveries = [msgspec.structs.replace(Delivery(*row), state="sending") for row in rows]
            conn.executemany(
                "UPDATE outbox SET state = 'sending' WHERE id = ?", [(d.id,) for d in deliveries]
            )
        return deliveries

    def claim_batches(
        self,
        now_ms: int,
        limit: int,
        plan: Callable[[Delivery], Merge | None],
        skip: Callable[[Delivery, sqlite3.Connection], str | None] = lambda _row, _conn: None,
    ) -> list[list[Delivery]]:
        """Like `claim_due`, but each claimed head takes along, as one message, other rows of
        its webhook that `plan(head)` allows: the rest of its group (due or not: the group
        wait of the first is the group's), and under a rate limit, any row that is due.
        `plan` returning None leaves the head unclaimed (its channel must wait). A row that
        `skip(row, conn)` gives a reason for is marked skipped instead, in the same
        transaction (`conn` sees what it skipped)."""
        with self.db.transaction() as conn:
            self._claiming(conn)
            rows = conn.execute(
                f"{self._HEADS} SELECT {_DELIVERY_COLUMNS} FROM outbox JOIN heads USING (id) "
                "WHERE next_attempt_ms <= ? ORDER BY next_attempt_ms, id",
                (now_ms,),
            ).fetchall()
            batches: list[list[Delivery]] = []
            for head in (Delivery(*row) for row in rows):
                if len(batches) >= limit:
                    break
                merge = plan(head)
                if merge is None:
                    continue
                candidates = [head, *self._companions(conn, head, now_ms, merge)]
                batch = self._kept(conn, candidates, skip, now_ms)
                batch = batch[: max(1, merge.most)]
                if not batch:
                    continue
                first = batch[0].id
                conn.executemany(
                    "UPDATE outbox SET state = 'sending', batch = ? WHERE id = ?",
                    [(first, d.id) for d in batch],
                )
                batches.append(
                    [msgspec.structs.replace(d, state="sending", batch=first) for d in batch]
                )
        return batches

    @staticmethod
    def _kept(
        conn: sqlite3.Connection,
        rows: list[Delivery],
        skip: Callable[[Delivery, sqlite3.Connection], str | None],
        now_ms: int,
    ) -> list[Delivery]:
        kept = []
        for row in rows:
            reason = skip(row, conn)
            if reason is None:
                kept.append(row)
                continue
            conn.execute(
                "UPDATE outbox SET state = 'skipped', next_attempt_ms = NULL, last_error = ?, "
                "last_attempt_ms = ? WHERE id = ?",
                (reason, now_ms, row.id),
            )
        return kept

    @staticmethod
    def _companions(
        conn: sqlite3.Connection, head: Delivery, now_ms: int, merge: Merge
    ) -> list[Delivery]:
        if merge.most <= 1:
            return []
        # Some more than fit, for those that will be skipped.
        rows = conn.execute(
            f"SELECT {_DELIVERY_COLUMNS} FROM outbox WHERE state = 'pending' "
            "AND webhook_id = ? AND id != ? "
            "AND (group_key = ? OR (? AND next_attempt_ms <= ?)) "
            "ORDER BY next_attempt_ms, id LIMIT ?",
            (
                head.webhook_id,
                head.id,
                head.group_key,
                merge.any_group,
                now_ms,
                merge.most * 2,
            ),
        )
        return [Delivery(*row) for row in rows]

    def skip(self, delivery_ids: list[int], reason: str, at_ms: int) -> None:
        """Rows claimed and then not to be sent after all (inhibited, no longer needed)."""
        with self.db.transaction() as conn:
            conn.executemany(
                "UPDATE outbox SET state = 'skipped', next_attempt_ms = NULL, last_error = ?, "
                "last_attempt_ms = ? WHERE id = ? AND state = 'sending'",
                [(reason, at_ms, i) for i in delivery_ids],
            )

    def firing_skipped(
        self, alert_id: int, webhook_id: str, conn: sqlite3.Connection | None = None
    ) -> bool:
        """The channel was never told of this alert's firing: its firing rows were skipped.
        `conn`: the transaction's own connection, to see what it has skipped itself."""
        states = {
            state
            for (state,) in (conn or self.db.reader()).execute(
                "SELECT state FROM outbox WHERE alert_id = ? AND webhook_id = ? "
                "AND event_type = 'alert.firing'",
                (alert_id, webhook_id),
            )
        }
        return states == {"skipped"}

    def posts_since(self, webhook_id: str, since_ms: int) -> list[int]:
        """When messages went to a channel since `since_ms` (one per batch), oldest first:
        the rate limit's memory across a restart."""
        rows = self.db.reader().execute(
            "SELECT max(last_attempt_ms) FROM outbox WHERE webhook_id = ? "
            "AND last_attempt_ms >= ? GROUP BY coalesce(batch, id) ORDER BY 1",
            (webhook_id, since_ms),
        )
        return [int(at) for (at,) in rows]

    def next_due_ms(self) -> int | None:
        """When the earliest head of a webhook with nothing in flight is due."""
        row = self.db.reader().execute(
            f"{self._HEADS} SELECT min(next_attempt_ms) FROM outbox JOIN heads USING (id)"
        )
        return row.fetchone()[0]

    def release_claims(self) -> int:
        """Put rows left 'sending' by a stopped process back in their queues. Whether their
        attempt reached the receiver is unknown, so they are sent again: at least once."""
        with self.db.transaction() as conn:
            return conn.execute(
                "UPDATE outbox SET state = 'pending' WHERE state = 'sending'"
            ).rowcount

    def record_attempt(
        self,
        delivery_id: int | list[int],
        result: AttemptResult,
        at_ms: int,
        retry_at_ms: int | None,
    ) -> None:
        """Note one attempt of claimed rows (one message): delivered, retry at
        `retry_at_ms`, or (None) given up."""
        state = "delivered" if result.ok else ("pending" if retry_at_ms is not None else "failed")
        ids = delivery_id if isinstance(delivery_id, list) else [delivery_id]
        with self.db.transaction() as conn:
            conn.executemany(
                "UPDATE outbox SET state = ?, attempts = attempts + 1, last_attempt_ms = ?, "
                "next_attempt_ms = ?, delivered_ms = ?, last_status = ?, last_error = ? "
                "WHERE id = ? AND state = 'sending'",
                [
                    (
                        state,
                        at_ms,
                        None if result.ok else retry_at_ms,
                        at_ms if result.ok else None,
                        result.status,
                        result.error,
                        one,
                    )
                    for one in ids
                ],
            )

    def deliveries(
        self,
        state: str | None = None,
        webhook_id: str | None = None,
        alert_id: int | None = None,
        limit: int = 100,
    ) -> list[Delivery]:
        rows = self.db.reader().execute(
            f"SELECT {_DELIVERY_COLUMNS} FROM outbox WHERE (:state IS NULL OR state = :state) "
            "AND (:webhook IS NULL OR webhook_id = :webhook) "
            "AND (:alert IS NULL OR alert_id = :alert) ORDER BY id DESC LIMIT :limit",
            {"state": state, "webhook": webhook_id, "alert": alert_id, "limit": limit},
        )
        return [Delivery(*row) for row in rows]

    def close(self) -> None:
        self.db.close()


def _devices(states: States | None) -> list[str]:
    return [device for _rule, device, _subject in states or {}]


def _put_states(conn: sqlite3.Connection, states: States | None, at_ms: int) -> None:
    if not states:
        return
    conn.executemany(
        "INSERT INTO rule_state (rule_id, device, subject, kind, village, state, updated_ms) "
        "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (rule_id, device, subject) DO UPDATE SET "
        "kind = excluded.kind, village = excluded.village, state = excluded.state, "
        "updated_ms = excluded.updated_ms",
        [
            (key[0], key[1], key[2], kind, village, json.dumps(state), at_ms)
            for key, (kind, village, state) in states.items()
        ],
    )


def put_outgoing(
    conn: sqlite3.Connection, alert_id: int, at_ms: int, rows: Iterable[Outgoing]
) -> int:
    """Outbox rows, in the caller's transaction; how many were new. Rows that are about no
    alert (work in the queue) carry alert id 0."""
    # DO NOTHING: a delivery key already in the outbox is that very delivery.
    return conn.executemany(
        "INSERT INTO outbox (webhook_id, alert_id, msg_id, event_type, body, "
        "state, created_ms, next_attempt_ms, delivery_key, group_key) "
        "VALUES (?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        [
            (
                o.webhook_id,
                alert_id,
                o.msg_id,
                o.event_type,
                o.body,
                at_ms,
                at_ms if o.due_ms is None else o.due_ms,
                o.key(),
                o.group_key,
            )
            for o in rows
        ],
    ).rowcount


def alerts_by_key(alerts: Iterable[Alert]) -> dict[tuple[str, str, str], Alert]:
    return {(a.rule_id, a.device, a.subject): a for a in alerts}
