"""DingTalk, WeCom and Feishu group robots: their message formats and signatures, checked by
local receivers that compute the signatures the way each robot's documentation describes."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import pytest
from receivers import receiving

from support.waiting import wait_until

pytestmark = pytest.mark.integration

OK = (200, {"errcode": 0, "errmsg": "ok"})
TELEMETRY = "village/xiashan/{}/telemetry"


def raise_smoke(publisher, device: str) -> None:
    publisher.publish(TELEMETRY.format(device), json.dumps({"values": {"smoke": True}}))


def subscribe(running, url: str, kind: str, secret: str | None = None) -> None:
    body = {"url": url, "kind": kind, "secret": secret}
    assert running.api.post("/api/v1/webhooks", json=body).status_code == 201


def test_dingtalk_gets_markdown_signed_in_the_query(start_service, publisher):
    secret = "SECdingtalk-test-secret"
    running = start_service()
    with receiving(lambda _n: OK) as robot:
        subscribe(running, robot.url + "?access_token=tok", "dingtalk", secret)
        raise_smoke(publisher, "smoke-d")
        request = wait_until(lambda: robot.received, what="the robot message")[0]
    query = request.query
    expected = hmac.new(
        secret.encode(), f"{query['timestamp']}\n{secret}".encode(), hashlib.sha256
    ).digest()
    assert query["access_token"] == "tok"
    assert base64.b64decode(query["sign"]) == expected
    assert abs(int(query["timestamp"]) - time.time() * 1000) < 60_000
    message = request.json()
    assert message["msgtype"] == "markdown"
    assert "smoke-d" in message["markdown"]["text"]
    assert "紧急" in message["markdown"]["title"]


def test_wecom_gets_markdown_content_with_its_key_in_the_url(start_service, publisher):
    running = start_service()
    with receiving(lambda _n: OK) as robot:
        subscribe(running, robot.url + "?key=wecom-key", "wecom")
        raise_smoke(publisher, "smoke-w")
        request = wait_until(lambda: robot.received, what="the robot message")[0]
    assert request.query == {"key": "wecom-key"}
    message = request.json()
    assert message["msgtype"] == "markdown"
    assert "smoke-w" in message["markdown"]["content"]


def test_feishu_gets_text_signed_in_the_body(start_service, publisher):
    secret = "feishu-test-secret"
    running = start_service()
    with receiving(lambda _n: (200, {"code": 0, "msg": "success"})) as robot:
        subscribe(running, robot.url, "feishu", secret)
        raise_smoke(publisher, "smoke-f")
        request = wait_until(lambda: robot.received, what="the robot message")[0]
    message = request.json()
    key = f"{message['timestamp']}\n{secret}".encode()
    assert base64.b64decode(message["sign"]) == hmac.new(key, b"", hashlib.sha256).digest()
    assert abs(int(message["timestamp"]) - time.time()) < 60
    assert message["msg_type"] == "text"
    assert "smoke-f" in message["content"]["text"]


def test_a_robot_refusing_with_an_error_code_counts_as_a_failed_attempt(start_service, publisher):
    running = start_service(max_attempts=1)
    refused = (200, {"errcode": 310000, "errmsg": "sign not match"})
    with receiving(lambda _n: refused) as robot:
        subscribe(running, robot.url + "?access_token=tok", "dingtalk", "SECwrong")
        raise_smoke(publisher, "smoke-r")
        failed = wait_until(
            lambda: running.api.get("/api/v1/deliveries", params={"state": "failed"}).json(),
            what="the delivery to fail",
        )
    assert "310000 sign not match" in failed[0]["last_error"]


def test_the_outbox_shows_a_robots_error_without_the_key_it_echoes(start_service, publisher):
    running = start_service(max_attempts=1)
    with receiving() as robot:
        complaint = f"invalid url {robot.url}?key=wk-55aa"
        robot.answer = lambda _n: (200, {"errcode": 93000, "errmsg": complaint})
        subscribe(running, robot.url + "?key=wk-55aa", "wecom")
        raise_smoke(publisher, "smoke-k")
        failed = wait_until(
            lambda: running.api.get("/api/v1/deliveries", params={"state": "failed"}).json(),
            what="the delivery to fail",
        )
    assert f"93000 invalid url {robot.url}?key=…" in failed[0]["last_error"]
    assert "wk-55aa" not in failed[0]["last_error"]
