"""Notifications through the running service: readings published to a real Mosquitto, robots
as real receivers that count the posts carrying each alert change."""

from __future__ import annotations

import json

import pytest
from notify_support import keys_posted, text_of
from receivers import receiving

from support.waiting import wait_until

pytestmark = pytest.mark.integration
OK = (200, {"errcode": 0, "errmsg": "ok"})
TELEMETRY = "village/xiashan/{}/telemetry"


def publish(publisher, device: str, values: dict) -> None:
    publisher.publish(TELEMETRY.format(device), json.dumps({"values": values}))


def robot_rows(running) -> list:
    return running.service.alerts.store.deliveries(limit=10_000)


def settled(running) -> bool:
    rows = robot_rows(running)
    return bool(rows) and all(d.state in ("delivered", "skipped") for d in rows)


def subscribe_robot(running, url: str) -> None:
    body = {"url": url, "kind": "dingtalk"}
    assert running.api.post("/api/v1/webhooks", json=body).status_code == 201


def test_a_river_over_both_lines_tells_the_group_once_per_gauge_of_the_danger_only(
    start_service, publisher
):
    running = start_service(notify={"group_wait": "2s"})
    with receiving(lambda _n: OK) as robot:
        subscribe_robot(running, robot.url)
        for n in range(10):
            publish(publisher, f"river-{n}", {"water_level": 3.5})
        wait_until(lambda: settled(running) and len(robot_rows(running)) >= 20, what="the rows")
    texts = "\n".join(text_of(r) for r in robot.received)
    posted = keys_posted(robot)
    assert set(posted.values()) == {1}
    assert len(posted) == 10  # the ten danger firings; the ten warnings were kept quiet
    assert "警戒线" not in texts
    assert all(f"river-{n}" in texts for n in range(10))
    assert len(robot.received) <= 10


def test_thirty_smoke_alarms_reach_a_dingtalk_robot_within_its_twenty_a_minute(
    start_service, publisher
):
    running = start_service()
    with receiving(lambda _n: OK) as robot:
        subscribe_robot(running, robot.url)
        for n in range(30):
            publish(publisher, f"smoke-{n}", {"smoke": True})
        wait_until(
            lambda: len(keys_posted(robot)) >= 30, timeout=30, what="every alarm in a message"
        )
    posted = keys_posted(robot)
    assert len(robot.received) <= 20
    assert len(posted) == 30 and set(posted.values()) == {1}
    assert "@" not in text_of(robot.received[0])  # nobody is on call for this channel
