"""Robot keys stay out of the request log and out of the errors the outbox keeps."""

from __future__ import annotations

import json
import logging
from urllib.parse import quote

import pytest
from receivers import receiving

from village_brain.alerts.records import Delivery, Webhook
from village_brain.alerts.redact import hide_keys
from village_brain.alerts.sender import attempt
from village_brain.alerts.transport import delivery_client
from village_brain.core.timefmt import now_ms

OK = (200, {"errcode": 0, "errmsg": "ok"})
BODY = {
    "type": "alert.firing",
    "timestamp": "2026-11-29T08:00:00.000Z",
    "data": {
        "severity": "critical", "rule_name": "Smoke", "message": "Smoke: smoke alarm",
        "village": "xiashan", "place": "", "device_name": "", "device": "smoke-1",
        "link": "http://127.0.0.1:8080/devices/smoke-1", "reminder": False,
    },
}  # fmt: skip


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        (
            "POST https://oapi.dingtalk.com/robot/send?access_token=abc123&timestamp=1&sign=x%2By",
            "POST https://oapi.dingtalk.com/robot/send?access_token=…&timestamp=…&sign=…",
        ),
        (
            "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7xxx",
            "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…",
        ),
        (
            "https://open.feishu.cn/open-apis/bot/v2/hook/2ab5d6c1-6a0f-4e1b-9c7e-0f5d7b6c5a4e",
            "https://open.feishu.cn/open-apis/bot/v2/hook/…",
        ),
        (
            "http://user:pw@hooks.example/in 'HTTP/1.1 200 OK'",
            "http://hooks.example/in 'HTTP/1.1 200 OK'",
        ),
        ("no address here", "no address here"),
    ],
)
def test_urls_in_a_text_are_shown_without_their_keys(text, shown):
    assert hide_keys(text) == shown


def robot_delivery() -> Delivery:
    return Delivery(1, "wh_1", 1, "m1", "alert.firing", json.dumps(BODY), "sending", 0, now_ms())


@pytest.mark.integration
def test_the_request_log_shows_a_robot_address_without_its_token_and_signature(caplog):
    caplog.set_level(logging.INFO)
    with receiving(lambda _n: OK) as robot:
        hook = Webhook("wh_1", robot.url + "?access_token=tok-8e7f6a", "dingtalk", "SECsecret", 0)
        with delivery_client(5, allow_private=True) as client:
            assert attempt(client, hook, robot_delivery(), now_ms()).ok
        sign = robot.received[0].query["sign"]
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name == "httpx")
    assert "HTTP Request: POST" in logged and "access_token=…" in logged
    assert "tok-8e7f6a" not in caplog.text
    assert sign not in caplog.text and quote(sign, safe="") not in caplog.text


@pytest.mark.integration
def test_an_error_a_robot_answers_with_is_kept_without_the_key_it_echoes():
    def echo(_n: int):
        return 400, {"errcode": 400, "errmsg": f"bad request to {robot.url}?key=wk-55aa"}

    with receiving(echo) as robot:
        hook = Webhook("wh_1", robot.url + "?key=wk-55aa", "wecom", "", 0)
        with delivery_client(5, allow_private=True) as client:
            result = attempt(client, hook, robot_delivery(), now_ms())
    assert not result.ok
    assert "wk-55aa" not in (result.error or "")
    assert "key=…" in (result.error or "")
