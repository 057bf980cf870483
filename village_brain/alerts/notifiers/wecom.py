"""WeCom (企业微信) group robots: the key is in the URL; mentions by mobile or userid.

A markdown message can mention only by `<@userid>`; mentions by mobile number, and @all,
need a text message with `mentioned_mobile_list` / `mentioned_list`. Text is at most 2048
bytes and markdown 4096; a robot takes at most 20 messages a minute.
"""

from __future__ import annotations

from typing import Any

import httpx

from village_brain.alerts.notifiers.base import Request, clip, json_request, judge_robot, text_of
from village_brain.alerts.records import AttemptResult, Delivery, Mention, Webhook

TEXT_BYTES = 2048
MARKDOWN_BYTES = 4096


class WeCom:
    kind = "wecom"
    rate_per_minute = 20
    max_per_message = 10
    min_gap_ms = 0

    def request(
        self, webhook: Webhook, rows: list[Delivery], mention: Mention, language: str, now_ms: int
    ) -> Request:
        title, lines = text_of(rows, language)
        message: dict[str, Any]
        if mention.mobiles or mention.at_all:
            text: dict[str, Any] = {"content": clip("\n".join([title, *lines]), TEXT_BYTES)}
            listed = [*mention.user_ids, *(["@all"] if mention.at_all else [])]
            if listed:
                text["mentioned_list"] = listed
            if mention.mobiles:
                text["mentioned_mobile_list"] = list(mention.mobiles)
            message = {"msgtype": "text", "text": text}
        else:
            who = " ".join(f"<@{u}>" for u in mention.user_ids)
            content = "\n".join([f"**{title}**", *lines, *([who] if who else [])])
            message = {
                "msgtype": "markdown",
                "markdown": {"content": clip(content, MARKDOWN_BYTES)},
            }
        return json_request(webhook.url, message, rows)

    def judge(self, response: httpx.Response) -> AttemptResult:
        return judge_robot(response)
