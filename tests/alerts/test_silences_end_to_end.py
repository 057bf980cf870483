"""Silences and channel operations, device → broker → ingest → alert → real receivers.

A real Mosquitto, the whole service, and loopback receivers that verify signatures and count
what arrives.
"""

from __future__ import annotations

import json
import time

import pytest
from people import operator_token
from receivers import closed_port, receiving
from standardwebhooks import Webhook as Verifier

from support.waiting import wait_until

pytestmark = pytest.mark.integration

TELEMETRY = "village/xiashan/{}/telemetry"
# Long enough to see that nothing is sent; the receivers answer within milliseconds.
QUIET_S = 1.5


def subscribe(running, url: str, **fields) -> dict:
    response = running.api.post("/api/v1/webhooks", json={"url": url, **fields})
    assert response.status_code == 201, response.text
    return response.json()


def level(publisher, device: str, value: float) -> None:
    publisher.publish(TELEMETRY.format(device), json.dumps({"values": {"water_level": value}}))


def alerts(running, **params) -> list[dict]:
    return running.api.get("/api/v1/alerts", params=params).json()


def test_a_silenced_firing_alert_sends_nothing_and_is_sent_once_the_silence_expires(
    start_service, publisher
):
    running = start_service()
    token = operator_token(running, "wang")
    as_wang = {"Authorization": f"Bearer {token}"}
    with receiving() as receiver:
        hook = subscribe(running, receiver.url)
        made = running.api.post(
            "/api/v1/silences",
            json={"matchers": {"device": "gauge-s1"}, "reason": "闸门检修", "duration": "3s"},
            headers=as_wang,
        )
        assert made.status_code == 201, made.text
        level(publisher, "gauge-s1", 2.9)
        alert = wait_until(lambda: alerts(running, device="gauge-s1"), what="the alert")[0]
        assert (alert["state"], alert["silenced"]) == ("firing", True)
        time.sleep(QUIET_S)
        assert receiver.received == []
        wait_until(lambda: receiver.received, timeout=30, what="the message after the silence")
        time.sleep(QUIET_S)
        assert len(receiver.received) == 1
        body = Verifier(hook["secret"]).verify(
            receiver.received[0].body, receiver.received[0].headers
        )
    assert (body["type"], body["data"]["id"]) == ("alert.firing", alert["id"])
    assert alerts(running, device="gauge-s1")[0]["silenced"] is False
    kinds = [e["kind"] for e in running.api.get(f"/api/v1/alerts/{alert['id']}/timeline").json()]
    assert kinds == ["fired", "silenced", "unsilenced", "reminded"]


def test_an_alert_resolved_while_silenced_sends_no_resolved_message(start_service, publisher):
    running = start_service()
    token = operator_token(running, "wang")
    with receiving() as receiver:
        subscribe(running, receiver.url)
        level(publisher, "gauge-s2", 2.9)
        alert = wait_until(lambda: alerts(running, device="gauge-s2"), what="the alert")[0]
        wait_until(lambda: len(receiver.received) == 1, what="the firing message")
        silence = running.api.post(
            "/api/v1/silences",
            json={"matchers": {"rule": "river_warning"}, "reason": "水位计校准", "duration": "1h"},
            headers={"Authorization": f"Bearer {token}"},
        ).json()
        level(publisher, "gauge-s2", 2.0)
        wait_until(
            lambda: running.api.get(f"/api/v1/alerts/{alert['id']}").json()["state"] == "resolved",
            what="the resolution",
        )
        running.api.post(
            f"/api/v1/silences/{silence['id']}/expire", headers={"Authorization": f"Bearer {token}"}
        )
        time.sleep(QUIET_S)
        assert [b["type"] for b in receiver.bodies()] == ["alert.firing"]


def test_a_channel_that_keeps_failing_raises_its_own_alert_through_another_channel(
    start_service, publisher
):
    running = start_service(channel_failing_after=2)
    dead = subscribe(running, f"http://127.0.0.1:{closed_port()}/hook", name="村口广播")
    with receiving() as receiver:
        subscribe(running, receiver.url, name="值班群")
        level(publisher, "gauge-s3", 2.9)

        def channel_alert() -> list[dict]:
            return [a for a in alerts(running, state="firing") if a["kind"] == "channel"]

        raised = wait_until(channel_alert, timeout=30, what="the channel's own alert")[0]
        assert (raised["rule_id"], raised["severity"]) == ("channel_failing", "major")
        assert "村口广播" in raised["message"]

        def told() -> list[dict]:
            return [b for b in receiver.bodies() if b["data"]["rule_id"] == "channel_failing"]

        wait_until(told, timeout=30, what="the other channel to be told")
    assert running.api.delete(f"/api/v1/webhooks/{dead['id']}").status_code == 204
    wait_until(lambda: not channel_alert(), timeout=30, what="the channel alert to resolve")


def test_a_test_message_returns_the_receivers_answer(start_service):
    running = start_service()
    with receiving(lambda _n: (200, {"errcode": 0, "errmsg": "ok"})) as receiver:
        hook = subscribe(running, receiver.url, kind="dingtalk", name="钉钉值班群")
        answer = running.api.post(f"/api/v1/webhooks/{hook['id']}/test")
        assert answer.status_code == 200, answer.text
        result = answer.json()
        assert (result["ok"], result["status"]) == (True, 200)
        assert json.loads(result["answer"]) == {"errcode": 0, "errmsg": "ok"}
        (posted,) = receiver.bodies()
    assert "测试消息" in posted["markdown"]["text"]


def test_a_test_message_says_why_the_robot_refused_it(start_service):
    running = start_service()
    with receiving(lambda _n: (200, {"errcode": 310000, "errmsg": "sign not match"})) as receiver:
        hook = subscribe(running, receiver.url, kind="dingtalk", secret="SEC" + "a" * 40)
        result = running.api.post(f"/api/v1/webhooks/{hook['id']}/test").json()
    assert result["ok"] is False
    assert "310000" in result["error"] and "sign not match" in result["answer"]


def test_a_failed_delivery_sent_again_reaches_a_receiver_that_is_back(start_service, publisher):
    running = start_service(max_attempts=1)
    port = closed_port()
    hook = subscribe(running, f"http://127.0.0.1:{port}/hook")

    def failed() -> list[dict]:
        return running.api.get("/api/v1/deliveries", params={"state": "failed"}).json()

    level(publisher, "gauge-s4", 2.9)
    (delivery,) = wait_until(failed, timeout=30, what="the delivery to fail")
    with receiving(port=port) as receiver:
        answer = running.api.post(f"/api/v1/deliveries/{delivery['id']}/resend")
        assert answer.status_code == 200, answer.text
        wait_until(lambda: receiver.received, timeout=30, what="the delivery sent again")
        sent = receiver.received[0]
        Verifier(hook["secret"]).verify(sent.body, sent.headers)
    assert sent.headers["webhook-id"] == delivery["msg_id"]
    wait_until(
        lambda: running.api.get("/api/v1/deliveries", params={"state": "delivered"}).json(),
        what="the delivery to be recorded",
    )
