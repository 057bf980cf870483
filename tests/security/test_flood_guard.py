"""The flood guard counts readings on their own time: floods are stopped, backlogs are not."""

import json
import time

import pytest

from village_brain.core.catalog import load_catalog
from village_brain.core.timefmt import now_ms
from village_brain.ingest.flood import FloodGuard

from security_kit import Device, wait_until

HOUR = 3_600_000
MINUTE = 60_000


def guard(min_readings=10, factor=0.1, window_ms=HOUR, on_throttle=None):
    return FloodGuard(load_catalog(None), window_ms, factor, min_readings, on_throttle)


def test_readings_within_the_budget_pass():
    flood, now = guard(), now_ms()
    assert all(flood.check("g1", "water_level", now, now) is None for _ in range(10))


def test_readings_past_the_budget_of_a_window_are_rate_limited():
    flood, now = guard(), now_ms()
    results = [flood.check("g1", "water_level", now, now) for _ in range(12)]
    assert [r.reason for r in results if r is not None] == ["rate_limited", "rate_limited"]


def test_the_refusal_says_which_device_sensor_and_limit():
    flood, now = guard(), now_ms()
    for _ in range(10):
        flood.check("g1", "water_level", now, now)
    problem = flood.check("g1", "water_level", now, now)
    assert "'g1' sent more than 10 water_level readings" in problem.detail
    assert "reports every 5m" in problem.detail and problem.sensor == "water_level"


def test_a_sensors_budget_follows_its_report_interval():
    # water_level reports every 5 min: twelve an hour; four times that is 48.
    assert guard(min_readings=1, factor=4).budget("water_level") == 48


def test_a_backlog_stamped_over_a_long_outage_arrives_at_once_and_passes():
    flood, arrival = guard(min_readings=12), now_ms()
    # Six hours of readings every 5 minutes, all delivered in the same instant.
    stamps = [arrival - 6 * HOUR + i * 5 * MINUTE for i in range(72)]
    assert all(flood.check("g1", "water_level", ts, arrival) is None for ts in stamps)


def test_one_flooding_device_does_not_use_up_another_devices_budget():
    flood, now = guard(), now_ms()
    for _ in range(50):
        flood.check("flooder", "water_level", now, now)
    assert flood.check("calm", "water_level", now, now) is None


def test_each_refused_reading_is_reported_for_the_stats():
    throttled = []
    flood, now = guard(on_throttle=lambda device, ms: throttled.append(device)), now_ms()
    for _ in range(13):
        flood.check("g1", "rssi", now, now)
    assert throttled == ["g1"] * 3


@pytest.mark.integration
def test_a_healthy_devices_backlog_from_an_ingest_outage_is_stored_in_full(
    plain_broker, start_service
):
    client_id = "ingest-outage"
    first = start_service(plain_broker.url, mqtt={"client_id": client_id})
    first.stop()
    gauge = Device(plain_broker.port, "gauge-backlog")
    start = now_ms() - 2 * 24 * HOUR
    # Two days of a reading a minute, queued by the broker while ingest is away.
    for i in range(2 * 24 * 60):
        message = {"ts": start + i * MINUTE, "values": {"water_level": 1 + i / 10_000}}
        gauge.client.publish("village/xiashan/gauge-backlog/telemetry", json.dumps(message), 1)
    gauge.publish("village/xiashan/gauge-backlog/status", "online")
    gauge.close()
    # A limit of 100 an hour: counted on arrival, this backlog would be a flood.
    again = start_service(
        plain_broker.url,
        mqtt={"client_id": client_id},
        ingest={"flood_min_readings": 100, "flood_factor": 1},
    )
    wait_until(lambda: again.stats.stored >= 2 * 24 * 60, what="the whole backlog")
    assert again.stats.rejected.get("rate_limited", 0) == 0


@pytest.mark.integration
def test_a_flooding_device_is_throttled_without_delaying_another_device(
    plain_broker, start_service
):
    service = start_service(plain_broker.url, ingest={"flood_min_readings": 100, "flood_factor": 1})
    flooder, calm = Device(plain_broker.port, "flooder"), Device(plain_broker.port, "calm")
    flood = json.dumps({"values": {"rssi": -70}})
    for _ in range(5000):
        last = flooder.client.publish("village/xiashan/flooder/telemetry", flood, qos=1)
    # Timed once the broker has the whole flood: the calm device's readings then wait behind
    # the service refusing it, not behind this process's own publisher, which shares the
    # interpreter lock with the service and made a delay of 1.7 s one run in several.
    last.wait_for_publish(timeout=30)
    delays = []
    for i in range(5):
        sent = time.monotonic()
        calm.publish("village/xiashan/calm/telemetry", json.dumps({"values": {"rssi": -60 - i}}))
        wait_until(lambda i=i: [r for r in service.series.latest("calm") if r.value == -60 - i])
        delays.append(time.monotonic() - sent)
    wait_until(lambda: service.stats.rejected.get("rate_limited", 0) >= 4900, what="the flood")
    assert max(delays) < 1.0, delays
    assert service.snapshot().throttled_devices == ["flooder"]
    [refused] = service.registry.rejections(limit=1, reason="rate_limited")
    assert refused.device == "flooder" and "more than 100 rssi readings" in refused.detail
    flooder.close()
    calm.close()
