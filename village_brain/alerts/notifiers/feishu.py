"""Feishu (飞书) group robots: text, signed in the body, @-mentions by `<at user_id>`.

A custom robot takes 100 messages a minute and 5 a second; mentions name an open_id or
user_id (`all` for everyone); Feishu robots cannot mention by mobile number.
"""

from __future__ import annotations

from typing import Any

import httpx

from village_brain.alerts.notifiers.base import Request, clip, json_request, judge_robot, text_of
from village_brain.alerts.records import AttemptResult, Delivery, Mention, Webhook
from village_brain.alerts.signing import feishu_sign

MAX_BYTES = 18_000


class Feishu:
    kind = "feishu"
    rate_per_minute = 100
    max_per_message = 30
    min_gap_ms = 200

    def request(
        self, webhook: Webhook, rows: list[Delivery], mention: Mention, language: str, now_ms: int
    ) -> Request:
        title, lines = text_of(rows, language)
        who = [f'<at user_id="{u}">{u}</at>' for u in mention.user_ids]
        if mention.at_all:
            who.append(f'<at user_id="all">{"all" if language == "en" else "所有人"}</at>')
        text = "\n".join([title, *lines, *([" ".join(who)] if who else [])])
        message: dict[str, Any] = {"msg_type": "text", "content": {"text": clip(text, MAX_BYTES)}}
        if webhook.secret:
            now_s = now_ms // 1000
            message = {
                "timestamp": str(now_s),
                "sign": feishu_sign(webhook.secret, now_s),
                **message,
            }
        return json_request(webhook.url, message, rows)

    def judge(self, response: httpx.Response) -> AttemptResult:
        return judge_robot(response)
