"""Operations on channels: send a test message now, and send a failed delivery again.

Both go through the same sender as every notification, so a test that passes means the
channel's real messages will be taken (same URL, signing and message format).
"""

from __future__ import annotations

import secrets

import httpx
import msgspec

from village_brain.alerts.dispatcher import RetryPolicy
from village_brain.alerts.payloads import alert_fields, event_body
from village_brain.alerts.records import Alert, AttemptResult, Delivery, TimelineEntry, Webhook
from village_brain.alerts.redact import hide_keys
from village_brain.alerts.sender import attempt
from village_brain.alerts.store import _DELIVERY_COLUMNS, AlertStore
from village_brain.alerts.transport import delivery_client
from village_brain.core.catalog import Catalog

ANSWER_CHARS = 2000
TEST_TEXT = "测试消息：乡村大脑的通知渠道可以正常送达。（这不是告警，无需处理）"


class ChannelAnswer(AttemptResult, frozen=True):
    answer: str | None = None  # the receiver's body, keys hidden


def test_message(
    webhook: Webhook, catalog: Catalog, dashboard_url: str, policy: RetryPolicy, now: int
) -> ChannelAnswer:
    """Send one test message to `webhook` and tell what the receiver answered."""
    fields = alert_fields(_test_alert(now), catalog, None, dashboard_url)
    entry = TimelineEntry(0, 0, "fired", now)
    body = msgspec.json.encode(event_body(fields, entry)).decode()
    delivery = Delivery(
        0,
        webhook.id,
        0,
        f"msg_test_{secrets.token_hex(6)}",
        "alert.firing",
        body,
        "sending",
        0,
        now,
    )
    answers: list[httpx.Response] = []

    def keep(response: httpx.Response) -> None:
        response.read()
        answers.append(response)

    with delivery_client(policy.timeout_s, policy.allow_private) as client:
        client.event_hooks["response"] = [keep]
        result = attempt(client, webhook, delivery, now)
    answer = hide_keys(answers[-1].text[:ANSWER_CHARS]) if answers else None
    return ChannelAnswer(result.ok, result.status, result.error, answer)


def _test_alert(now: int) -> Alert:
    return Alert(
        0, "test_message", "测试消息", "info", "test", "", "", "", "firing", TEST_TEXT, now, now
    )


class NotFailed(Exception):
    """Only a delivery that was given up can be sent again."""


def resend(store: AlertStore, delivery_id: int, now: int) -> Delivery:
    """Put a failed delivery back in its channel's queue, due now, for one more attempt
    (its message id stays, so a receiver that did get it can drop the repeat). Raises
    KeyError when there is no such delivery, NotFailed unless it failed."""
    with store.db.transaction() as conn:
        row = conn.execute("SELECT state FROM outbox WHERE id = ?", (delivery_id,)).fetchone()
        if row is None:
            raise KeyError(delivery_id)
        if row[0] != "failed":
            raise NotFailed(f"delivery {delivery_id} is {row[0]}; only a failed one is sent again")
        conn.execute(
            "UPDATE outbox SET state = 'pending', next_attempt_ms = ? WHERE id = ?",
            (now, delivery_id),
        )
        again = conn.execute(
            f"SELECT {_DELIVERY_COLUMNS} FROM outbox WHERE id = ?", (delivery_id,)
        ).fetchone()
    return Delivery(*again)
