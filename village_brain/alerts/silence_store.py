"""The silences table, and which open alerts a silence holds the messages of (their mutes).

It lives in the alert database beside the alerts and their timeline: a mute is written with
its timeline entry in one transaction, so the timeline says when an alert went quiet and why.
"""

from __future__ import annotations

import sqlite3
from typing import Any

import msgspec

from village_brain.alerts.records import Alert
from village_brain.alerts.silences import Matchers, Silence
from village_brain.alerts.store import AlertStore, Deliveries

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS silences (
        id TEXT PRIMARY KEY,
        matchers TEXT NOT NULL,
        starts_ms INTEGER NOT NULL,
        ends_ms INTEGER NOT NULL,
        reason TEXT NOT NULL,
        created_by TEXT NOT NULL,
        created_ms INTEGER NOT NULL,
        expired_by TEXT
    )""",
    # An open alert whose messages a silence held back: when no silence mutes it any more
    # and it still fires, it is notified once and its row goes.
    """CREATE TABLE IF NOT EXISTS alert_mutes (
        alert_id INTEGER PRIMARY KEY,
        silences TEXT NOT NULL,
        since_ms INTEGER NOT NULL
    )""",
)
_COLUMNS = "id, matchers, starts_ms, ends_ms, reason, created_by, created_ms, expired_by"


class SilenceStore:
    def __init__(self, alerts: AlertStore) -> None:
        self.alerts = alerts
        self.db = alerts.db
        self.db.ensure(*SCHEMA)

    def put(self, silence: Silence) -> None:
        with self.db.transaction() as conn:
            conn.execute(
                f"INSERT INTO silences ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (id) DO UPDATE SET matchers = excluded.matchers, "
                "starts_ms = excluded.starts_ms, ends_ms = excluded.ends_ms, "
                "reason = excluded.reason, created_by = excluded.created_by, "
                "created_ms = excluded.created_ms, expired_by = excluded.expired_by",
                (
                    silence.id,
                    msgspec.json.encode(silence.matchers).decode(),
                    silence.starts_ms,
                    silence.ends_ms,
                    silence.reason,
                    silence.created_by,
                    silence.created_ms,
                    silence.expired_by,
                ),
            )

    def silences(self) -> list[Silence]:
        rows = self.db.reader().execute(f"SELECT {_COLUMNS} FROM silences ORDER BY created_ms")
        return [_silence(row) for row in rows]

    def mutes(self) -> dict[int, tuple[str, ...]]:
        rows = self.db.reader().execute("SELECT alert_id, silences FROM alert_mutes")
        return {alert_id: tuple(ids.split(",")) for alert_id, ids in rows}

    def mute(self, alert_id: int, silence_ids: list[str], at_ms: int) -> None:
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO alert_mutes (alert_id, silences, since_ms) VALUES (?, ?, ?) "
                "ON CONFLICT (alert_id) DO UPDATE SET silences = excluded.silences, "
                "since_ms = excluded.since_ms",
                (alert_id, ",".join(silence_ids), at_ms),
            )
            _note(conn, alert_id, "silenced", at_ms, ", ".join(silence_ids))

    def unmute(self, alert_id: int, at_ms: int, note: bool) -> None:
        """Forget the mute; `note` puts the silence's end in the alert's timeline."""
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM alert_mutes WHERE alert_id = ?", (alert_id,))
            if note:
                _note(conn, alert_id, "unsilenced", at_ms, None)

    def renotify(self, alert_id: int, at_ms: int, deliveries: Deliveries) -> Alert:
        """The silence is over and the alert still fires: forget the mute and notify, as a
        reminder, in one transaction (so a crash can neither lose nor repeat it)."""
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM alert_mutes WHERE alert_id = ?", (alert_id,))
            _note(conn, alert_id, "unsilenced", at_ms, None)
            conn.execute(
                "UPDATE alerts SET notified_ms = ?, reminders = reminders + 1 WHERE id = ?",
                (at_ms, alert_id),
            )
            return self.alerts._after(conn, alert_id, "reminded", at_ms, deliveries)


def _note(
    conn: sqlite3.Connection, alert_id: int, kind: str, at_ms: int, comment: str | None
) -> None:
    conn.execute(
        "INSERT INTO timeline (alert_id, kind, at_ms, comment) VALUES (?, ?, ?, ?)",
        (alert_id, kind, at_ms, comment),
    )


def _silence(row: tuple[Any, ...]) -> Silence:
    id_, matchers, *rest = row
    return Silence(id_, msgspec.json.decode(matchers, type=Matchers), *rest)
