"""A channel that keeps failing raises its own alert, sent through the other channels.

Read from the outbox: counting back from a channel's latest attempt, the attempts that failed
before the last one that was delivered. At `failing_after` of them the channel's alert fires;
the first delivery that goes through resolves it, and so does deleting the channel.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from village_brain.alerts.records import Alert, NewAlert, Webhook
from village_brain.alerts.store import AlertStore, Deliveries

CHANNEL_RULE = "channel_failing"
CHANNEL_KIND = "channel"
CHECK_EVERY_MS = 1000
LOOK_BACK_ROWS = 50
INDEX = "CREATE INDEX IF NOT EXISTS outbox_by_attempt ON outbox (webhook_id, last_attempt_ms)"


class ChannelWatch:
    def __init__(self, store: AlertStore, failing_after: int) -> None:
        self.store = store
        self.failing_after = failing_after
        store.db.ensure(INDEX)
        self._checked_ms = 0
        self.open: dict[str, Alert] = {
            a.subject: a for a in store.open_alerts() if a.kind == CHANNEL_KIND
        }

    def check(
        self,
        webhooks: Mapping[str, Webhook],
        now: int,
        deliveries: Deliveries,
        announce: Callable[[str, Alert], None],
    ) -> None:
        if now - self._checked_ms < CHECK_EVERY_MS:
            return
        self._checked_ms = now
        for webhook in webhooks.values():
            failures, error = self._failures(webhook.id)
            alert = self.open.get(webhook.id)
            if alert is None and failures >= self.failing_after:
                new = _new_alert(webhook, failures, error, now)
                self.open[webhook.id] = self.store.fire(new, deliveries)
                announce("fired", self.open[webhook.id])
            elif alert is not None and failures == 0:
                self._resolve(webhook.id, now, "the channel delivers again", deliveries, announce)
        for gone in [w for w in self.open if w not in webhooks]:
            self._resolve(gone, now, "the channel was deleted", deliveries, announce)

    def track(self, alert: Alert) -> None:
        """A person changed a channel's alert (acknowledged or resolved it)."""
        if alert.state == "resolved":
            self.open.pop(alert.subject, None)
        elif alert.subject in self.open:
            self.open[alert.subject] = alert

    def _resolve(
        self,
        webhook_id: str,
        now: int,
        reason: str,
        deliveries: Deliveries,
        announce: Callable[[str, Alert], None],
    ) -> None:
        alert = self.open.pop(webhook_id)
        announce("resolved", self.store.resolve(alert.id, now, None, reason, deliveries))

    def _failures(self, webhook_id: str) -> tuple[int, str]:
        """Failed attempts since the last delivery, and the latest error."""
        rows = self.store.db.reader().execute(
            "SELECT state, attempts, last_error FROM outbox "
            "WHERE webhook_id = ? AND last_attempt_ms IS NOT NULL "
            "ORDER BY last_attempt_ms DESC, id DESC LIMIT ?",
            (webhook_id, LOOK_BACK_ROWS),
        )
        failures, latest = 0, ""
        for state, attempts, error in rows:
            if state == "delivered":
                break
            failures += attempts
            latest = latest or (error or "")
        return failures, latest


def _new_alert(webhook: Webhook, failures: int, error: str, now: int) -> NewAlert:
    name = webhook.name or webhook.id
    return NewAlert(
        CHANNEL_RULE,
        f"通知渠道 {name} 发送失败",
        "major",
        CHANNEL_KIND,
        "",
        "",
        webhook.id,
        f"通知渠道 {name} 已连续 {failures} 次发送失败：{error}".rstrip("："),
        now,
        float(failures),
    )
