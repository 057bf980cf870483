"""The live fan-out: bounded per client, never blocking the bus, forgetting closed clients."""

from __future__ import annotations

import asyncio
import json
import threading
import time

from village_brain.core.bus import Bus
from village_brain.dashboards.web.live import READINGS_PER_FRAME, Batch, LiveHub, sse


def numbers(batch: Batch) -> list[int]:
    return [json.loads(frame.data.split(b"data: ")[1])["n"] for frame in batch.frames]


def readings(count: int) -> dict[str, object]:
    return {"readings": [{"device": "gauge-1", "ts_ms": ts, "value": 1.5} for ts in range(count)]}


def test_a_slow_client_keeps_the_newest_events_and_learns_how_many_were_dropped() -> None:
    async def scenario() -> tuple[list[int], int]:
        # Every {"n": digit} event has the same size: room for exactly three.
        hub = LiveHub(budget_bytes=3 * len(sse("readings", {"n": 0}).data))
        feed = hub.open(asyncio.get_running_loop())
        for n in range(5):
            hub.publish("readings", {"n": n})
        batch = await feed.next_batch(timeout_s=1)
        return numbers(batch), batch.dropped

    assert asyncio.run(scenario()) == ([2, 3, 4], 2)


def test_a_client_that_never_reads_holds_no_more_than_its_budget() -> None:
    async def scenario() -> int:
        hub = LiveHub(budget_bytes=100_000)
        hub.open(asyncio.get_running_loop())
        for _ in range(200):
            hub.publish("readings", readings(1_000))
        return hub.buffered_bytes

    assert asyncio.run(scenario()) <= 100_000


def test_a_large_batch_goes_out_as_several_readings_events() -> None:
    async def scenario() -> list[int]:
        hub = LiveHub()
        feed = hub.open(asyncio.get_running_loop())
        hub.publish("readings", readings(2 * READINGS_PER_FRAME + 1))
        batch = await feed.next_batch(timeout_s=1)
        return [len(json.loads(f.data.split(b"data: ")[1])["readings"]) for f in batch.frames]

    assert asyncio.run(scenario()) == [READINGS_PER_FRAME, READINGS_PER_FRAME, 1]


def test_publishing_does_not_wait_for_a_client_that_never_reads() -> None:
    async def scenario() -> float:
        hub = LiveHub(budget_bytes=1_000)
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
        batch = await feed.next_batch(timeout_s=5)
        return [frame.kind for frame in batch.frames]

    assert asyncio.run(scenario()) == ["status"]


def test_a_closed_client_is_no_longer_fed() -> None:
    async def scenario() -> tuple[int, list[object]]:
        hub = LiveHub()
        feed = hub.open(asyncio.get_running_loop())
        hub.close(feed)
        hub.publish("readings", {"n": 1})
        batch = await feed.next_batch(timeout_s=0.05)
        return hub.client_count, batch.frames

    assert asyncio.run(scenario()) == (0, [])


def test_only_readings_status_and_alerts_reach_the_browser() -> None:
    async def scenario() -> list[str]:
        hub = LiveHub()
        feed = hub.open(asyncio.get_running_loop())
        for kind in ("readings", "internal", "status", "alert"):
            hub.publish(kind, {})
        batch = await feed.next_batch(timeout_s=1)
        return [frame.kind for frame in batch.frames]

    assert asyncio.run(scenario()) == ["readings", "status", "alert"]


def test_shutting_the_hub_wakes_and_ends_every_waiting_client() -> None:
    async def scenario() -> tuple[bool, float]:
        hub = LiveHub()
        feed = hub.open(asyncio.get_running_loop())
        threading.Timer(0.05, hub.shut).start()
        started = time.monotonic()
        await feed.next_batch(timeout_s=30)
        return feed.ended, time.monotonic() - started

    ended, waited = asyncio.run(scenario())
    assert ended and waited < 20


def test_a_client_that_comes_after_the_hub_was_shut_is_ended_at_once() -> None:
    async def scenario() -> bool:
        hub = LiveHub()
        hub.shut()
        return hub.open(asyncio.get_running_loop()).ended

    assert asyncio.run(scenario())


def test_a_hub_wants_the_committed_readings_only_while_a_client_is_connected() -> None:
    async def scenario() -> list[bool]:
        bus, hub = Bus(), LiveHub()
        hub.attach(bus)
        wanted = [bus.listened("readings")]
        feed = hub.open(asyncio.get_running_loop())
        wanted += [bus.listened("readings"), bus.listened("internal")]
        hub.close(feed)
        return [*wanted, bus.listened("readings")]

    assert asyncio.run(scenario()) == [False, True, False, False]
