"""Device → real Mosquitto → ingest → store → API, end to end."""

import json

import paho.mqtt.client as mqtt
import pytest

from village_brain.broker import start_embedded_broker
from village_brain.broker.ports import pick_free_port
from village_brain.core.timefmt import now_ms
from village_brain.ingest.mqtt_client import split_mqtt_url

from harness import make_service
from support.waiting import wait_until

pytestmark = pytest.mark.integration

TELEMETRY = "village/xiashan/{}/telemetry"


def test_a_published_reading_is_stored_and_served_by_the_api(running, publisher):
    publisher.publish(TELEMETRY.format("gauge-1"), json.dumps({"values": {"water_level": 1.42}}))
    assert wait_until(lambda: running.latest("gauge-1"), what="the reading") == {
        "water_level": 1.42
    }


def test_bad_input_costs_none_of_the_good_readings_around_it(running, publisher):
    now = now_ms()
    topic = TELEMETRY.format("mixed")
    good = [json.dumps({"ts": now - i, "values": {"rssi": -60 - i}}) for i in range(5)]
    bad = [
        b'{"values": {"rssi": -70',  # broken JSON
        b'{"values": {"rssi": NaN}}',
        json.dumps({"values": {"rssi": "loud"}}),
        json.dumps({"values": {"no_such_sensor": 1}}),
        json.dumps({"ts": now + 3_600_000, "values": {"rssi": -70}}),
        b"{" + b" " * 66_000 + b"}",  # over our limit, under the broker's packet limit
    ]
    for index, bad_one in enumerate(bad):
        publisher.publish(topic, bad_one)
        if index < len(good):
            publisher.publish(topic, good[index])
    publisher.publish("village/Bad Village/x/telemetry", b"{}")
    wait_until(lambda: running.service.stats.stored >= 5, what="the good readings")
    wait_until(lambda: sum(running.service.stats.rejected.values()) >= 7, what="rejections")
    reasons = {r["reason"] for r in running.rejections(limit=50)}
    assert reasons == {
        "bad_json",
        "not_finite",
        "wrong_type",
        "unknown_sensor",
        "timestamp_future",
        "payload_too_large",
        "bad_topic",
    }
    assert running.service.stats.stored == 5


def test_rejections_are_counted_by_reason_in_the_stats(running, publisher):
    publisher.publish(TELEMETRY.format("g2"), b"{not json")
    wait_until(lambda: running.service.stats.rejected["bad_json"] == 1, what="the rejection")
    stats = running.api.get("/api/v1/ingest/stats").json()
    assert stats["rejected_by_reason"] == {"bad_json": 1}


def test_a_redelivered_message_does_not_double_its_points(running, publisher):
    ts = now_ms()
    payload = json.dumps({"ts": ts, "values": {"water_level": 2.0}})
    publisher.publish(TELEMETRY.format("g3"), payload)
    publisher.publish(TELEMETRY.format("g3"), payload)
    # Counted for g3 alone: the shared broker may hand a new subscriber other tests' retained
    # messages, which add to the service-wide totals.
    wait_until(lambda: running.service.stats.duplicates == 1, what="the second copy")
    around = {"start": ts - 60_000, "end": ts + 60_000, "step": "1m"}
    series = running.api.get("/api/v1/devices/g3/series/water_level", params=around).json()
    assert sum(b["count"] for b in series["buckets"]) == 1


def test_a_status_message_marks_the_device_offline(running, publisher):
    publisher.publish(TELEMETRY.format("g4"), json.dumps({"values": {"rssi": -70}}))
    wait_until(lambda: running.latest("g4"), what="the reading")
    publisher.publish("village/xiashan/g4/status", "offline", retain=True)

    def offline() -> bool:
        return running.api.get("/api/v1/devices/g4").json()["online"] is False

    wait_until(offline, what="the device to go offline")
    publisher.publish("village/xiashan/g4/status", b"", retain=True)  # leave the broker clean


def test_an_event_is_stored_and_listed(running, publisher):
    event = {"type": "door_opened", "data": {"door": "pump-house"}}
    publisher.publish("village/xiashan/pump-1/event", json.dumps(event))

    def events() -> list:
        response = running.api.get("/api/v1/devices/pump-1/events")
        return response.json() if response.status_code == 200 else []

    [stored] = wait_until(events, what="the event")
    assert stored["type"] == "door_opened" and stored["data"] == {"door": "pump-house"}


def test_strict_registration_rejects_unknown_devices(start_service, publisher):
    strict = start_service(ingest={"registration": "strict"})
    publisher.publish(TELEMETRY.format("stranger"), json.dumps({"values": {"rssi": -70}}))
    [rejection] = wait_until(lambda: strict.rejections(device="stranger"), what="the rejection")
    assert rejection["reason"] == "unknown_device"
    assert strict.latest("stranger") == {}


def test_the_content_type_selects_the_codec(running, publisher):
    senml = json.dumps([{"n": "water_level", "u": "m", "v": 0.8}])
    publisher.publish(TELEMETRY.format("g5"), senml, ContentType="application/senml+json")
    assert wait_until(lambda: running.latest("g5"), what="the reading") == {"water_level": 0.8}


def test_ingest_works_over_the_amqtt_fallback_broker(tmp_path, monkeypatch):
    # Without Mosquitto installed, serve falls back to amqtt, which speaks only MQTT 3.1.1.
    monkeypatch.setattr("village_brain.broker.embedded.find_mosquitto", lambda: None)
    with start_embedded_broker(tmp_path / "broker", port=pick_free_port()) as broker:
        service = make_service(broker.url, tmp_path / "data", "ingest-amqtt", broker.mqtt_version)
        service.start()
        try:
            wait_until(service.receiver.connected.is_set, what="ingest to subscribe")
            device = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
            host, port = split_mqtt_url(broker.url)
            device.connect(host, port)
            device.loop_start()
            payload = json.dumps({"values": {"water_level": 0.5}})
            device.publish("village/x/g9/telemetry", payload, qos=1).wait_for_publish(5)
            device.disconnect()
            device.loop_stop()
            wait_until(lambda: service.stats.stored == 1, what="the reading over amqtt")
        finally:
            service.stop()
