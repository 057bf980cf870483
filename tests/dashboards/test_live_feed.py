"""The live fan-out: bounded per client, never blocking the bus, forgetting closed clients."""

from __future__ import annotations

import asyncio
import threading
import time

from village_brain.core.bus import Bus
from village_brain.dashboards.web.live import LiveHub


def test_a_slow_client_keeps_the_newest_events_and_learns_how_many_were_dropped() -> None:
    async def scenario() -> tuple[list[int], int]:
        hub = LiveHub(capacity=3)
        feed = hub.open(asyncio.get_running_loop())
        for n in range(5):
            hub.publish("readings", {"n": n})
        events, dropped = await feed.next_batch(timeout_s=1)
        return [payload["n"] for _, payload in events], dropped

    assert asyncio.run(scenario()) == ([2, 3, 4], 2)


def test_publishing_does_not_wait_for_a_client_that_never_reads() -> None:
    async def scenario() -> float:
        hub = LiveHub(capacity=10)
        hub.open(asyncio.get_running_loop())
        started = time.perf_counter()
        for n in range(20_000):
            hub.publish("readings", {"n": n})
        return time.perf_counter() - started

    assert asyncio.run(scenario()) < 1.0


def test_events_from_the_ingest_thread_wake_the_waiting_client() -> None:
    async def scenario() -> list[str]:
        bus = Bus()
        hub = LiveHub()
        hub.attach(bus)
        feed = hub.open(asyncio.get_running_loop())
        threading.Timer(0.05, bus.publish, ("status", {"device": "gauge-1"})).start()
        events, _ = await feed.next_batch(timeout_s=5)
        return [kind for kind, _ in events]

    assert asyncio.run(scenario()) == ["status"]


def test_a_closed_client_is_no_longer_fed() -> None:
    async def scenario() -> tuple[int, list[object]]:
        hub = LiveHub()
        feed = hub.open(asyncio.get_running_loop())
        hub.close(feed)
        hub.publish("readings", {"n": 1})
        events, _ = await feed.next_batch(timeout_s=0.05)
        return hub.client_count, events

    assert asyncio.run(scenario()) == (0, [])


def test_only_readings_status_and_alerts_reach_the_browser() -> None:
    async def scenario() -> list[str]:
        hub = LiveHub()
        feed = hub.open(asyncio.get_running_loop())
        for kind in ("readings", "internal", "status", "alert"):
            hub.publish(kind, {})
        events, _ = await feed.next_batch(timeout_s=1)
        return [kind for kind, _ in events]

    assert asyncio.run(scenario()) == ["readings", "status", "alert"]
