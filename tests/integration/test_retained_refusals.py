"""A retained message that is refused: the broker sends it again at every subscription, and
the rejection log has it once however often that happens."""

import pytest

from harness import Publisher, RunningService
from support.waiting import wait_until

pytestmark = pytest.mark.integration

TOPIC = "village/xiashan/junk-1/telemetry"
JUNK = '{"values": {"water_level": "high"}}'  # refused as wrong_type


def publish_retained_junk(url: str) -> None:
    device = Publisher(url)
    device.publish(TOPIC, JUNK, retain=True)
    device.close()


def stats(running: RunningService) -> dict:
    return running.api.get("/api/v1/ingest/stats").json()


def received(running: RunningService, count: int) -> bool:
    return stats(running)["messages_received"] >= count


def test_a_refused_retained_message_is_logged_once_across_a_reconnection(
    restartable_mosquitto, start_service
):
    publish_retained_junk(restartable_mosquitto.url)
    running = start_service(url=restartable_mosquitto.url)
    wait_until(lambda: received(running, 1), what="the retained junk")
    refused_at = running.api.get("/api/v1/devices/junk-1").json()["last_refused_ms"]
    restartable_mosquitto.restart()
    wait_until(lambda: received(running, 2), what="the broker to send the junk again")
    assert running.service.receiver.generation == 2
    assert [r["reason"] for r in running.rejections(device="junk-1")] == ["wrong_type"]
    assert stats(running)["rejected_repeats"] == 1
    device = running.api.get("/api/v1/devices/junk-1").json()
    assert (device["health"], device["last_refused_ms"]) == ("refused", refused_at)


def test_a_refused_retained_message_is_logged_once_across_a_restart_of_ingest(
    restartable_mosquitto, start_service
):
    publish_retained_junk(restartable_mosquitto.url)
    first = start_service(url=restartable_mosquitto.url)
    wait_until(lambda: received(first, 1), what="the retained junk")
    first.service.stop()
    second = start_service(url=restartable_mosquitto.url)  # same data directory
    wait_until(lambda: received(second, 1), what="the broker to send the junk again")
    assert [r["reason"] for r in second.rejections(device="junk-1")] == ["wrong_type"]
    assert stats(second)["rejected_repeats"] == 1


def test_junk_a_device_publishes_again_is_logged_again_even_if_retained(
    restartable_mosquitto, start_service
):
    running = start_service(url=restartable_mosquitto.url)
    publish_retained_junk(restartable_mosquitto.url)
    publish_retained_junk(restartable_mosquitto.url)
    wait_until(lambda: received(running, 2), what="both messages")
    assert len(running.rejections(device="junk-1")) == 2
    assert stats(running)["rejected_repeats"] == 0
