"""DingTalk (钉钉) group robots: markdown, signed in the query, @-mentions by mobile number.

DingTalk shows an @-mention only when the message's `at` lists the number and the text
also contains `@number`. A robot takes at most 20 messages a minute (more and it is muted
for ten minutes), so the dispatcher merges alerts rather than exceed it.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx

from village_brain.alerts.notifiers.base import (
    Request,
    clip,
    data_of,
    json_request,
    judge_robot,
    text_of,
)
from village_brain.alerts.records import AttemptResult, Delivery, Mention, Webhook
from village_brain.alerts.signing import dingtalk_sign

MAX_BYTES = 18_000


class DingTalk:
    kind = "dingtalk"
    rate_per_minute = 20
    max_per_message = 30
    min_gap_ms = 0

    def request(
        self, webhook: Webhook, rows: list[Delivery], mention: Mention, language: str, now_ms: int
    ) -> Request:
        url = webhook.url
        if webhook.secret:
            sign = quote(dingtalk_sign(webhook.secret, now_ms), safe="")
            url = f"{url}{'&' if '?' in url else '?'}timestamp={now_ms}&sign={sign}"
        title, lines = text_of(rows, language)
        parts = [f"### {title}", *lines]
        if len(rows) > 1:
            parts.append(f"[{'Dashboard' if language == 'en' else '打开仪表盘'}]({_home(rows)})")
        who = [f"@{m}" for m in (*mention.mobiles, *mention.user_ids)]
        if mention.at_all:
            who.append("@所有人" if language != "en" else "@all")
        if who:
            parts.append(" ".join(who))
        message: dict[str, Any] = {
            "msgtype": "markdown",
            "markdown": {"title": title, "text": clip("\n\n".join(parts), MAX_BYTES)},
            "at": {
                "atMobiles": list(mention.mobiles),
                "atUserIds": list(mention.user_ids),
                "isAtAll": mention.at_all,
            },
        }
        return json_request(url, message, rows)

    def judge(self, response: httpx.Response) -> AttemptResult:
        return judge_robot(response)


def _home(rows: list[Delivery]) -> str:
    link = str(data_of(rows[0]).get("link", ""))
    return link.split("/devices/", 1)[0] or link
