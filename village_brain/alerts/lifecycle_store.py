"""What people do to an alert besides acknowledging it: take the acknowledgement back,
resolve it by hand with a note, assign it to someone (认领). Each is one transaction with its
timeline entry, and with its messages when it has any (a resolution by hand)."""

from __future__ import annotations

from village_brain.alerts.records import Alert, Outgoing, TimelineEntry
from village_brain.alerts.store import AlertConflict, AlertStore, Deliveries

SCHEMA = """CREATE TABLE IF NOT EXISTS alert_assignments (
    alert_id INTEGER PRIMARY KEY REFERENCES alerts (id),
    assignee TEXT NOT NULL,
    by TEXT NOT NULL,
    at_ms INTEGER NOT NULL
)"""


def _nothing(_alert: Alert, _entry: TimelineEntry) -> list[Outgoing]:
    """These changes tell nobody: they are in the timeline and the API."""
    return []


class LifecycleStore:
    def __init__(self, alerts: AlertStore) -> None:
        self.alerts = alerts
        alerts.db.ensure(SCHEMA)

    def unacknowledge(self, alert_id: int, by: str, at_ms: int) -> Alert:
        """Back to firing; reminders count again from now."""
        with self.alerts.db.transaction() as conn:
            alert = self.alerts.locked(conn, alert_id)
            if alert.state != "acknowledged":
                raise AlertConflict(f"alert {alert_id} is {alert.state}, not acknowledged")
            conn.execute(
                "UPDATE alerts SET state = 'firing', acked_ms = NULL, acked_by = NULL, "
                "ack_comment = NULL, notified_ms = ?, updated_ms = ? WHERE id = ?",
                (at_ms, at_ms, alert_id),
            )
            return self.alerts._after(conn, alert_id, "unacknowledged", at_ms, _nothing, by)

    def resolve(
        self, alert_id: int, by: str, note: str, at_ms: int, deliveries: Deliveries
    ) -> Alert:
        with self.alerts.db.transaction() as conn:
            alert = self.alerts.locked(conn, alert_id)
            if alert.state == "resolved":
                raise AlertConflict(f"alert {alert_id} is already resolved")
            conn.execute(
                "UPDATE alerts SET state = 'resolved', resolved_ms = ?, updated_ms = ? "
                "WHERE id = ?",
                (at_ms, at_ms, alert_id),
            )
            return self.alerts._after(conn, alert_id, "resolved", at_ms, deliveries, by, note)

    def assign(self, alert_id: int, assignee: str | None, by: str, at_ms: int) -> Alert:
        """Give the alert to `assignee`; None takes the assignment away."""
        with self.alerts.db.transaction() as conn:
            alert = self.alerts.locked(conn, alert_id)
            if alert.state == "resolved":
                raise AlertConflict(f"alert {alert_id} is already resolved")
            if assignee is None:
                conn.execute("DELETE FROM alert_assignments WHERE alert_id = ?", (alert_id,))
            else:
                conn.execute(
                    "INSERT INTO alert_assignments (alert_id, assignee, by, at_ms) "
                    "VALUES (?, ?, ?, ?) ON CONFLICT (alert_id) DO UPDATE SET "
                    "assignee = excluded.assignee, by = excluded.by, at_ms = excluded.at_ms",
                    (alert_id, assignee, by, at_ms),
                )
            kind = "unassigned" if assignee is None else "assigned"
            return self.alerts._after(conn, alert_id, kind, at_ms, _nothing, by, assignee)

    def assignees(self, alert_ids: list[int]) -> dict[int, str]:
        if not alert_ids:
            return {}
        marks = ", ".join("?" * len(alert_ids))
        rows = self.alerts.db.reader().execute(
            f"SELECT alert_id, assignee FROM alert_assignments WHERE alert_id IN ({marks})",
            alert_ids,
        )
        return dict(rows.fetchall())
