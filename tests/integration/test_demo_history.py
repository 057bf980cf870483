"""`serve --demo` opens on a village that has been running for days: full charts and an alert
history, with no waiting."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from village_brain.simulator import village_layout

from support.serve_process import ServeProcess

pytestmark = pytest.mark.integration

DAY_MS = 86_400_000


@pytest.fixture(scope="module")
def demo(mosquitto, tmp_path_factory) -> Iterator[tuple[ServeProcess, float]]:
    """The running demo, and how long it took from the command to answering."""
    tmp = tmp_path_factory.mktemp("demo-history")
    process = ServeProcess(
        mosquitto.url, tmp / "data", tmp / "serve.log", f"demo-{time.monotonic_ns()}"
    )
    began = time.monotonic()
    process.start("--demo")
    took = time.monotonic() - began
    print(f"serve --demo answered {took:.1f} s after the command")
    yield process, took
    process.kill()


def test_a_chart_of_the_last_three_days_is_full_at_first_sight(demo) -> None:
    process, _ = demo
    gauge = next(d for d in village_layout(24) if d.kind == "river_gauge")
    now = int(time.time() * 1000)
    series = httpx.get(
        f"{process.url}/api/v1/devices/{gauge.id}/series/water_level",
        params={"start": now - 3 * DAY_MS, "end": now, "step": "1h"},
        timeout=10,
    ).json()
    filled = [b for b in series["buckets"] if b["count"] > 0]
    assert len(filled) >= 65, len(filled)  # of 72 hours, but for an outage or two
    assert filled[0]["start_ms"] <= now - 70 * 3_600_000


def test_the_alert_history_has_incidents_that_came_and_went(demo) -> None:
    process, _ = demo
    alerts = httpx.get(
        f"{process.url}/api/v1/alerts", params={"state": "resolved"}, timeout=10
    ).json()
    assert len(alerts) >= 3, alerts


def test_the_demo_still_starts_quickly(demo) -> None:
    _, took = demo
    assert took < 40, f"{took:.1f} s"
    assert "demo: wrote" in demo[0].log_text()
