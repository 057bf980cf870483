"""Standard Webhooks: our JSON body, signed with the `webhook-*` headers; one row a message."""

from __future__ import annotations

import httpx

from village_brain.alerts.notifiers.base import Request, failed, http_error
from village_brain.alerts.records import AttemptResult, Delivery, Mention, Webhook
from village_brain.alerts.signing import standard_signature


class Standard:
    kind = "standard"
    rate_per_minute = 0
    max_per_message = 1
    min_gap_ms = 0

    def request(
        self, webhook: Webhook, rows: list[Delivery], mention: Mention, language: str, now_ms: int
    ) -> Request:
        (row,) = rows
        body = row.body.encode()
        now_s = now_ms // 1000
        headers = {
            "content-type": "application/json",
            "webhook-id": row.msg_id,
            "webhook-timestamp": str(now_s),
            "webhook-signature": standard_signature(webhook.secret, row.msg_id, now_s, body),
        }
        return Request(webhook.url, body, headers)

    def judge(self, response: httpx.Response) -> AttemptResult:
        if response.is_success:
            return AttemptResult(True, response.status_code)
        return failed(response.status_code, http_error(response))
