"""Commands in other families' dialects, through a real Mosquitto, to devices that behave as
their firmware documents: Tasmota's relay answers on stat/, Zigbee2MQTT publishes the new
state; the reading that follows makes the command done."""

from __future__ import annotations

import json
import threading

import paho.mqtt.client as mqtt
import pytest
from integration.harness import Publisher

from village_brain.control.downlinks import Downlinks
from village_brain.core.catalog import default_catalog
from village_brain.ingest.mqtt_client import split_mqtt_url
from village_brain.ingest.sources.router import build_sources

from support.waiting import wait_until

pytestmark = pytest.mark.integration

TASMOTA = {"adapter": "tasmota", "village": "xiashan"}
Z2M = {"adapter": "zigbee2mqtt", "village": "xiashan", "fields": {"state": "lamp_state"}}


class Firmware:
    """A device of another family: listens on `topic` and answers as `answer` says."""

    def __init__(self, url: str, topic: str, answer) -> None:
        host, port = split_mqtt_url(url)
        self.heard: list[bytes] = []
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
        self.client.on_message = lambda c, _u, msg: (
            self.heard.append(msg.payload),
            [c.publish(t, p, qos=1) for t, p in answer(msg.payload)],
        )
        subscribed = threading.Event()
        self.client.on_subscribe = lambda *_: subscribed.set()
        self.client.connect(host, port)
        self.client.loop_start()
        self.client.subscribe(topic, qos=1)
        assert subscribed.wait(10), "the broker did not confirm the subscription"

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def command(running, device, **body):
    sent = running.api.post(f"/api/v1/devices/{device}/commands", json=body)
    assert sent.status_code == 202, sent.text
    return lambda: running.api.get(f"/api/v1/commands/{sent.json()['id']}").json()


def announce(mosquitto, topic, payload):
    publisher = Publisher(mosquitto.url)
    publisher.publish(topic, json.dumps(payload))
    publisher.close()


def test_a_tasmota_relay_is_switched_by_cmnd_power_and_its_result_makes_it_done(family, mosquitto):
    running = family(TASMOTA)
    announce(mosquitto, "tele/tasmota_lamp1/STATE", {"POWER": "OFF"})
    wait_until(lambda: running.latest("tasmota_lamp1"), what="the relay's state")

    def relay(payload):
        word = payload.decode()
        return [("stat/tasmota_lamp1/RESULT", json.dumps({"POWER": word}))]

    firmware = Firmware(mosquitto.url, "cmnd/tasmota_lamp1/POWER", relay)
    try:
        get = command(running, "tasmota_lamp1", target="lamp_state", value="on")
        wait_until(lambda: get()["state"] == "done", timeout=30, what="done")
        assert firmware.heard == [b"ON"]
        assert running.latest("tasmota_lamp1")["lamp_state"] == 1.0
    finally:
        firmware.close()


def test_a_zigbee2mqtt_device_is_set_and_its_published_state_makes_it_done(family, mosquitto):
    running = family(Z2M)
    announce(mosquitto, "zigbee2mqtt/garden_lamp", {"state": "OFF", "linkquality": 120})
    wait_until(lambda: running.latest("garden_lamp"), what="the lamp's state")

    def bulb(payload):
        state = json.loads(payload)["state"]
        return [("zigbee2mqtt/garden_lamp", json.dumps({"state": state, "linkquality": 118}))]

    firmware = Firmware(mosquitto.url, "zigbee2mqtt/garden_lamp/set", bulb)
    try:
        get = command(running, "garden_lamp", target="lamp_state", value="on")
        wait_until(lambda: get()["state"] == "done", timeout=30, what="done")
        assert [json.loads(p) for p in firmware.heard] == [{"state": "ON"}]
    finally:
        firmware.close()


def test_a_family_device_that_never_answers_expires(family, mosquitto):
    running = family(TASMOTA)
    announce(mosquitto, "tele/tasmota_dead/STATE", {"POWER": "OFF"})
    wait_until(lambda: running.latest("tasmota_dead"), what="the relay's state")
    get = command(running, "tasmota_dead", target="lamp_state", value="on", expires_in=1)
    wait_until(lambda: get()["state"] == "expired", timeout=30, what="expired")


def test_a_target_the_family_cannot_take_is_refused(family, mosquitto):
    running = family(TASMOTA)
    announce(mosquitto, "tele/tasmota_v/STATE", {"POWER": "OFF"})
    wait_until(lambda: running.latest("tasmota_v"), what="the relay's state")
    refused = running.api.post(
        "/api/v1/devices/tasmota_v/commands", json={"target": "valve_position", "value": 40}
    )
    assert refused.status_code == 422 and "only switches on and off" in refused.json()["error"]


def test_the_acl_lets_ingest_write_each_familys_command_topics():
    sources = build_sources([TASMOTA, Z2M], default_catalog())
    assert Downlinks.of(sources, default_catalog()).write_filters() == [
        "cmnd/+/POWER",
        "zigbee2mqtt/+/set",
        "zigbee2mqtt/+/+/set",
    ]
