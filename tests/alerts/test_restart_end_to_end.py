"""Restarting the service, with a real broker and a real receiver, changes no alert."""

from __future__ import annotations

import json

import pytest
from receivers import receiving

from village_brain.core.timefmt import now_ms

from support.waiting import wait_until

pytestmark = pytest.mark.integration

TELEMETRY = "village/xiashan/{}/telemetry"
S = 1_000

RULES = """
[[rule]]
id = "fast"
name = "River rising fast"
severity = "warning"
kind = "rate"
sensor = "water_level"
rise = 0.2
within = "10m"

[[rule]]
id = "held"
name = "River above the line for half a minute"
severity = "major"
kind = "threshold"
sensor = "water_level"
above = 5.0
for = "30s"
"""


@pytest.fixture
def rules_file(tmp_path):
    path = tmp_path / "rules.toml"
    path.write_text(RULES, "utf-8")
    return path


def level(publisher, device: str, value: float, ts_ms: int) -> None:
    message = {"ts": ts_ms, "values": {"water_level": value}}
    publisher.publish(TELEMETRY.format(device), json.dumps(message))


def stored(running, count: int) -> None:
    wait_until(lambda: running.service.stats.stored >= count, what=f"{count} readings stored")


def test_a_restart_does_not_resolve_a_river_rising_fast(start_service, publisher):
    with receiving() as receiver:
        first = start_service()
        first.api.post("/api/v1/webhooks", json={"url": receiver.url})
        t = now_ms()
        for minutes_ago, value in ((4, 2.0), (2, 2.1), (0, 2.25)):
            level(publisher, "gauge-r", value, t - minutes_ago * 60 * S)
        wait_until(lambda: receiver.received, what="the firing message")
        first.service.stop()

        second = start_service()
        level(publisher, "gauge-r", 2.3, t + S)
        # A marker behind it: another gauge's breach, held long enough to fire at once. A
        # wrong resolution of gauge-r would be queued, and sent, before the marker's firing.
        level(publisher, "gauge-m", 5.5, t - 28 * S)
        level(publisher, "gauge-m", 5.5, t + 2 * S)
        wait_until(lambda: len(receiver.received) >= 2, what="the marker's firing")
        sent = [(b["type"], b["data"]["device"]) for b in receiver.bodies()]
        assert sent == [("alert.firing", "gauge-r"), ("alert.firing", "gauge-m")]
        (alert,) = second.api.get("/api/v1/alerts", params={"device": "gauge-r"}).json()
        assert alert["state"] == "firing"


def test_a_pending_breach_keeps_its_start_across_a_restart(start_service, publisher):
    first = start_service()
    start = now_ms() - 25 * S
    level(publisher, "gauge-h", 5.5, start)
    stored(first, 1)
    first.service.stop()

    second = start_service()
    # Half a minute after the first breaching reading, in reading time.
    level(publisher, "gauge-h", 5.6, start + 30 * S)

    def held() -> list[dict]:
        found = second.api.get("/api/v1/alerts", params={"device": "gauge-h"}).json()
        return [a for a in found if a["rule_id"] == "held"]

    wait_until(held, timeout=20, what="the held breach to fire")
    assert held()[0]["started_ms"] <= start + 31 * S
