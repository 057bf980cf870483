"""Device → broker → ingest → alert → signed webhook on loopback, and the alerts API."""

from __future__ import annotations

import json
import time

import pytest
from people import operator_token
from receivers import Received, closed_port, fail_first, receiving
from standardwebhooks import Webhook as Verifier

from village_brain.core.devices import Device
from village_brain.core.timefmt import now_ms

from support.waiting import wait_until

pytestmark = pytest.mark.integration

TELEMETRY = "village/xiashan/{}/telemetry"


def subscribe(running, url: str, **fields) -> dict:
    response = running.api.post("/api/v1/webhooks", json={"url": url, **fields})
    assert response.status_code == 201, response.text
    return response.json()


def level(publisher, device: str, value: float, ts_ms: int | None = None) -> None:
    message = {"ts": ts_ms, "values": {"water_level": value}}
    publisher.publish(TELEMETRY.format(device), json.dumps(message))


def alerts(running, **params) -> list[dict]:
    return running.api.get("/api/v1/alerts", params=params).json()


def verified(secret: str, request: Received) -> dict:
    return Verifier(secret).verify(request.body, request.headers)


def test_water_above_the_warning_line_sends_a_signed_webhook(start_service, publisher):
    running = start_service(dashboard_url="https://village.example")
    running.service.register_devices(
        [Device("gauge-1", "xiashan", place="north bridge", lat=30.1, lon=120.2)]
    )
    with receiving() as receiver:
        hook = subscribe(running, receiver.url)
        started = time.monotonic()
        level(publisher, "gauge-1", 2.7)
        wait_until(lambda: receiver.received, what="the webhook")
        # Sent with the commit, not at a later sweep; how fast is bench/notify_latency.py's.
        assert time.monotonic() - started < 5.0
        body = verified(hook["secret"], receiver.received[0])
    assert body["type"] == "alert.firing"
    data = body["data"]
    assert (data["rule_id"], data["severity"], data["state"]) == (
        "river_warning",
        "major",
        "firing",
    )
    assert (data["village"], data["device"], data["place"]) == (
        "xiashan",
        "gauge-1",
        "north bridge",
    )
    assert (data["lat"], data["lon"], data["value"], data["unit"]) == (30.1, 120.2, 2.7, "m")
    assert data["link"] == "https://village.example/devices/gauge-1"


def test_an_alert_fires_once_however_often_the_line_is_passed(start_service, publisher):
    running = start_service()
    with receiving() as receiver:
        subscribe(running, receiver.url)
        start = now_ms()
        for index, value in enumerate((2.6, 2.7, 2.55, 2.7, 2.45)):
            level(publisher, "gauge-2", value, start + index)
        wait_until(lambda: running.service.stats.stored == 5, what="the readings")
        wait_until(lambda: receiver.received, what="the webhook")
        time.sleep(0.3)
        assert [b["type"] for b in receiver.bodies()] == ["alert.firing"]
    assert len(alerts(running, device="gauge-2")) == 1


def test_acknowledging_through_the_api_records_the_account_and_notifies(start_service, publisher):
    running = start_service()
    token = operator_token(running, "王村长")
    with receiving() as receiver:
        hook = subscribe(running, receiver.url)
        level(publisher, "gauge-3", 2.9)
        alert = wait_until(lambda: alerts(running, device="gauge-3"), what="the alert")[0]
        answer = running.api.post(
            f"/api/v1/alerts/{alert['id']}/ack",
            # A typed name is not who acknowledges: the token's account is.
            json={"by": "李书记", "comment": "沙袋已到位"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert answer.status_code == 200
        assert (answer.json()["state"], answer.json()["acked_by"]) == ("acknowledged", "王村长")
        wait_until(lambda: len(receiver.received) == 2, what="the acknowledgement webhook")
        body = verified(hook["secret"], receiver.received[1])
    assert body["type"] == "alert.acknowledged"
    assert (body["data"]["acked_by"], body["data"]["ack_comment"]) == ("王村长", "沙袋已到位")
    timeline = running.api.get(f"/api/v1/alerts/{alert['id']}/timeline").json()
    assert [(e["kind"], e["by"]) for e in timeline] == [("fired", None), ("acknowledged", "王村长")]


def test_acknowledging_twice_is_refused(start_service, publisher):
    running = start_service()
    level(publisher, "gauge-4", 2.9)
    alert = wait_until(lambda: alerts(running, device="gauge-4"), what="the alert")[0]
    ack = {"comment": ""}
    assert running.api.post(f"/api/v1/alerts/{alert['id']}/ack", json=ack).status_code == 200
    again = running.api.post(f"/api/v1/alerts/{alert['id']}/ack", json=ack)
    assert again.status_code == 409
    assert "acknowledged" in again.json()["error"]
    assert running.api.post("/api/v1/alerts/999999/ack", json=ack).status_code == 404


def test_an_alert_resolves_by_itself_when_the_water_falls(start_service, publisher):
    running = start_service()
    with receiving() as receiver:
        subscribe(running, receiver.url)
        level(publisher, "gauge-5", 2.9)
        wait_until(lambda: alerts(running, device="gauge-5"), what="the alert")
        level(publisher, "gauge-5", 2.0)
        wait_until(lambda: len(receiver.received) == 2, what="the resolution webhook")
        assert [b["type"] for b in receiver.bodies()] == ["alert.firing", "alert.resolved"]
    (alert,) = alerts(running, device="gauge-5")
    assert alert["state"] == "resolved"
    assert alerts(running, device="gauge-5", state="active") == []


def test_alerts_are_announced_on_the_bus(start_service, publisher):
    running = start_service()
    heard: list[dict] = []
    running.service.bus.subscribe(lambda kind, p: heard.append(p) if kind == "alert" else None)
    level(publisher, "gauge-6", 2.9)
    wait_until(lambda: heard, what="the announcement")
    assert heard[0]["change"] == "fired"
    assert heard[0]["alert"]["device"] == "gauge-6"


def test_smoke_and_an_offline_device_raise_their_alerts(start_service, publisher):
    running = start_service()
    publisher.publish(TELEMETRY.format("smoke-1"), json.dumps({"values": {"smoke": "alarm"}}))
    publisher.publish("village/xiashan/lamp-1/status", "offline")
    wait_until(lambda: len(alerts(running)) == 2, what="both alerts")
    assert {(a["rule_id"], a["device"]) for a in alerts(running)} == {
        ("smoke_detected", "smoke-1"),
        ("device_offline", "lamp-1"),
    }


def test_a_smoke_alarm_event_raises_an_alert(start_service, publisher):
    running = start_service()
    event = json.dumps({"type": "smoke_alarm", "data": {"room": "kitchen"}})
    publisher.publish("village/xiashan/smoke-2/event", event)
    (alert,) = wait_until(lambda: alerts(running, device="smoke-2"), what="the alert")
    assert (alert["rule_id"], alert["event"], alert["severity"]) == (
        "smoke_alarm_event",
        "smoke_alarm",
        "critical",
    )


def test_a_receiver_that_fails_twice_gets_the_message_on_the_third_try(start_service, publisher):
    running = start_service()
    with receiving(fail_first(2)) as receiver:
        hook = subscribe(running, receiver.url)
        level(publisher, "gauge-7", 2.9)
        wait_until(lambda: len(receiver.received) == 3, what="three attempts")
        delivered = wait_until(
            lambda: running.api.get("/api/v1/deliveries", params={"state": "delivered"}).json(),
            what="the delivery",
        )
    assert (delivered[0]["attempts"], delivered[0]["last_status"]) == (3, 200)
    assert len({r.headers["webhook-id"] for r in receiver.received}) == 1
    verified(hook["secret"], receiver.received[2])


def test_a_slow_receiver_delays_neither_ingest_nor_other_receivers(start_service, publisher):
    running = start_service(delivery_timeout="1s")
    with receiving(delay_s=3.0) as slow, receiving() as fast:
        subscribe(running, slow.url)
        subscribe(running, fast.url)
        level(publisher, "gauge-8", 2.9)
        wait_until(lambda: fast.received, timeout=1.0, what="the fast receiver")
        started = time.monotonic()
        level(publisher, "gauge-9", 1.0)
        wait_until(lambda: running.latest("gauge-9"), timeout=1.0, what="the next reading")
        assert time.monotonic() - started < 0.5
        failed = wait_until(
            lambda: [
                d
                for d in running.api.get("/api/v1/deliveries").json()
                if d["last_error"] and "in time" in d["last_error"]
            ],
            what="the timeout to be recorded",
        )
    assert failed[0]["state"] == "pending"


def test_a_dead_receiver_is_given_up_after_the_attempt_limit(start_service, publisher):
    running = start_service(max_attempts=3)
    subscribe(running, f"http://127.0.0.1:{closed_port()}/hook")
    level(publisher, "gauge-10", 2.9)
    failed = wait_until(
        lambda: running.api.get("/api/v1/deliveries", params={"state": "failed"}).json(),
        what="the delivery to be given up",
    )
    assert failed[0]["attempts"] == 3
    assert "ConnectError" in failed[0]["last_error"]
    assert failed[0]["next_attempt"] is None


def test_pending_deliveries_are_sent_after_a_restart(start_service, publisher):
    port = closed_port()
    first = start_service(retry_first="200ms", retry_max="200ms")
    hook = subscribe(first, f"http://127.0.0.1:{port}/hook")
    level(publisher, "gauge-11", 2.9)
    wait_until(
        lambda: any(d["attempts"] for d in first.api.get("/api/v1/deliveries").json()),
        what="a failed attempt",
    )
    first.service.stop()
    with receiving(port=port) as receiver:
        second = start_service(retry_first="200ms", retry_max="200ms")
        wait_until(lambda: receiver.received, what="the delivery after the restart")
        verified(hook["secret"], receiver.received[0])
    assert len(alerts(second, device="gauge-11")) == 1
    assert second.api.get("/api/v1/deliveries").json()[0]["state"] == "delivered"


def test_a_webhook_to_a_loopback_address_is_refused_unless_allowed(start_service):
    running = start_service(allow_private_targets=False)
    answer = running.api.post("/api/v1/webhooks", json={"url": "http://127.0.0.1:9/hook"})
    assert answer.status_code == 422
    assert "allow_private_targets" in answer.json()["error"]
    assert running.api.get("/api/v1/webhooks").json() == []


def test_rules_are_managed_through_the_api(start_service):
    running = start_service()
    rule = {
        "id": "ph_low",
        "name": "Acid water",
        "severity": "minor",
        "kind": "threshold",
        "sensor": "water_ph",
        "below": 5.5,
    }
    assert running.api.post("/api/v1/rules", json=rule).status_code == 201
    assert running.api.post("/api/v1/rules", json=rule).status_code == 409
    listed = {r["id"]: r for r in running.api.get("/api/v1/rules").json()}
    assert (listed["ph_low"]["source"], listed["river_danger"]["source"]) == ("api", "file")
    assert running.api.delete("/api/v1/rules/ph_low").status_code == 204
    assert running.api.get("/api/v1/rules/ph_low").status_code == 404


def test_a_file_rule_cannot_be_deleted_and_a_broken_rule_is_refused(start_service):
    running = start_service()
    kept = running.api.delete("/api/v1/rules/river_danger")
    assert kept.status_code == 409 and "enabled = false" in kept.json()["error"]
    broken = running.api.put(
        "/api/v1/rules/x", json={"name": "X", "severity": "info", "kind": "threshold"}
    )
    assert broken.status_code == 422 and "sensor" in broken.json()["error"]


def test_a_webhook_secret_is_shown_only_when_it_is_created(start_service):
    running = start_service()
    created = subscribe(running, "http://127.0.0.1:9/hook", severities=["critical"])
    assert created["secret"].startswith("whsec_")
    (listed,) = running.api.get("/api/v1/webhooks").json()
    assert (listed["id"], listed["secret"], listed["severities"]) == (
        created["id"],
        None,
        ["critical"],
    )
