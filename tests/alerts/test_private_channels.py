"""A channel to the village LAN is allowed by an admin for that channel alone, not by a restart
with a global setting: other channels still may only call public addresses."""

from __future__ import annotations

import json

import pytest
from receivers import receiving

from village_brain.core.devices import Device

from support.waiting import wait_until

pytestmark = pytest.mark.integration


def publish_level(publisher, device: str, value: float) -> None:
    message = {"values": {"water_level": value}}
    publisher.publish(f"village/xiashan/{device}/telemetry", json.dumps(message))


def test_a_loopback_channel_is_refused_without_its_own_flag(start_service):
    running = start_service(allow_private_targets=False)
    with receiving() as receiver:
        answer = running.api.post("/api/v1/webhooks", json={"url": receiver.url})
    assert answer.status_code == 422
    assert "allow_private" in answer.json()["error"]
    assert running.api.get("/api/v1/webhooks").json() == []


def test_a_loopback_channel_an_admin_allowed_gets_the_alert(start_service, publisher):
    running = start_service(allow_private_targets=False)
    running.service.register_devices([Device("gauge-lan", "xiashan")])
    with receiving() as receiver:
        answer = running.api.post(
            "/api/v1/webhooks", json={"url": receiver.url, "allow_private": True}
        )
        assert answer.status_code == 201, answer.text
        assert answer.json()["allow_private"] is True
        publish_level(publisher, "gauge-lan", 2.8)
        wait_until(lambda: receiver.received, what="the alert at the LAN receiver")
    assert receiver.bodies()[0]["data"]["device"] == "gauge-lan"


def test_the_test_message_of_an_allowed_lan_channel_shows_the_answer(start_service):
    running = start_service(allow_private_targets=False)
    with receiving() as receiver:
        hook = running.api.post(
            "/api/v1/webhooks", json={"url": receiver.url, "allow_private": True}
        ).json()
        answer = running.api.post(f"/api/v1/webhooks/{hook['id']}/test")
        assert answer.status_code == 200, answer.text
        assert receiver.received
    body = answer.json()
    assert (body["ok"], body["status"]) == (True, 200)


def test_taking_the_flag_away_from_a_lan_channel_is_refused(start_service):
    running = start_service(allow_private_targets=False)
    with receiving() as receiver:
        hook = running.api.post(
            "/api/v1/webhooks", json={"url": receiver.url, "allow_private": True}
        ).json()
        answer = running.api.patch(f"/api/v1/webhooks/{hook['id']}", json={"allow_private": False})
    assert answer.status_code == 422
    assert running.api.get(f"/api/v1/webhooks/{hook['id']}").json()["allow_private"] is True
