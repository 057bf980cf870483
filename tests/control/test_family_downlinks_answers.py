"""Commands to ESPHome, Shelly, ChirpStack and Alink devices, end to end through a real
Mosquitto: the API's command goes out in the family's own dialect, a simulated device (or
network server) answers as its firmware documents, and the lifecycle ends from that answer;
a device that stays silent leaves its command to expire."""

from __future__ import annotations

import base64
import json

import pytest
from device_kit import wait_for_state
from family_firmware import AlinkDevice, ChirpStackNetwork, EspHomeNode, ShellyPlus
from integration.harness import RunningService

from support.waiting import wait_until

pytestmark = pytest.mark.integration

VILLAGE = "xiashan"
ESPHOME = {
    "adapter": "esphome",
    "village": VILLAGE,
    "controls": {"lamp_state": "light/street_lamp"},
}
SHELLY = {"adapter": "shelly", "village": VILLAGE}
APPLICATION = "0b7cf9e1-3a52-4e8f-a1d4-6f2d3c4b5a69"
CHIRPSTACK = {
    "adapter": "chirpstack",
    "village": VILLAGE,
    "downlinks": {"lamp-controller": {"f_port": 10, "payloads": {"lamp_state": {"on": "01"}}}},
}
ALINK = {"adapter": "alink", "village": VILLAGE, "services": {"identify": "Identify"}}


@pytest.fixture
def devices():
    made = []

    def keep(device):
        made.append(device)
        return device

    yield keep
    for device in made:
        device.close()


def command(running: RunningService, device: str, **body):
    sent = running.api.post(f"/api/v1/devices/{device}/commands", json=body)
    assert sent.status_code == 202, sent.text
    return lambda: running.api.get(f"/api/v1/commands/{sent.json()['id']}").json()


def registered(running: RunningService, device: str) -> None:
    wait_until(lambda: running.latest(device), what=f"a first reading of {device}")


# -- ESPHome ------------------------------------------------------------------------------


def test_an_esphome_light_is_switched_by_its_json_command_and_its_state_makes_it_done(
    family, devices, mosquitto
):
    running = family(ESPHOME)
    node = devices(EspHomeNode(mosquitto.url, "lamp-node-1"))
    node.publish("lamp-node-1/light/street_lamp/state", '{"state":"OFF","brightness":255}')
    registered(running, "lamp-node-1")

    done = wait_for_state(command(running, "lamp-node-1", target="lamp_state", value="on"), "done")

    assert node.heard == [("lamp-node-1/light/street_lamp/command", b'{"state":"ON"}')]
    assert done["detail"] == "the device's reading shows it"
    assert running.latest("lamp-node-1")["lamp_state"] == 1.0


def test_an_esphome_cover_is_sent_the_position_and_its_position_state_makes_it_done(
    family, devices, mosquitto
):
    running = family(ESPHOME)
    node = devices(EspHomeNode(mosquitto.url, "weir-node"))
    node.publish("weir-node/cover/valve_position/position/state", "0")
    registered(running, "weir-node")

    wait_for_state(command(running, "weir-node", target="valve_position", value=40), "done")

    assert node.heard == [("weir-node/cover/valve_position/position/command", b"40")]
    assert running.latest("weir-node")["valve_position"] == 40.0


def test_an_esphome_node_that_publishes_no_state_leaves_its_command_to_expire(
    family, devices, mosquitto
):
    running = family(ESPHOME)
    node = devices(EspHomeNode(mosquitto.url, "lamp-node-2", mode="silent"))
    node.publish("lamp-node-2/light/street_lamp/state", '{"state":"OFF"}')
    registered(running, "lamp-node-2")

    get = command(running, "lamp-node-2", target="lamp_state", value="on", expires_in=1)

    assert wait_for_state(get, "expired")["detail"] == (
        "the device did not take it before its expiry"
    )
    assert len(node.heard) == 1  # it had the command, and said nothing


# -- Shelly -------------------------------------------------------------------------------


def test_a_shelly_relay_is_switched_by_switch_set_over_rpc_and_answers_done(
    family, devices, mosquitto
):
    running = family(SHELLY)
    relay = devices(ShellyPlus(mosquitto.url, "shelly-lamp-1"))
    relay.publish("shelly-lamp-1/status/switch:0", '{"id":0,"output":false}')
    registered(running, "shelly-lamp-1")

    get = command(running, "shelly-lamp-1", target="lamp_state", value="on")
    wait_for_state(get, "done")

    [(topic, payload)] = relay.heard
    assert topic == "shelly-lamp-1/rpc"
    assert json.loads(payload) == {
        "id": get()["id"],
        "src": "village-brain/xiashan/shelly-lamp-1",
        "method": "Switch.Set",
        "params": {"id": 0, "on": True},
    }
    wait_until(lambda: running.latest("shelly-lamp-1")["lamp_state"] == 1.0, what="the state")


def test_a_shelly_rpc_error_makes_the_command_failed_with_the_devices_message(
    family, devices, mosquitto
):
    running = family(SHELLY)
    relay = devices(ShellyPlus(mosquitto.url, "shelly-lamp-2", mode="fail"))
    relay.publish("shelly-lamp-2/status/switch:0", '{"id":0,"output":false}')
    registered(running, "shelly-lamp-2")

    failed = wait_for_state(
        command(running, "shelly-lamp-2", target="lamp_state", value="on"), "failed"
    )

    assert "Argument 'id', value 0 not found!" in failed["detail"]
    assert "-105" in failed["detail"]


def test_a_shelly_that_does_not_answer_leaves_its_command_to_expire(family, devices, mosquitto):
    running = family(SHELLY)
    relay = devices(ShellyPlus(mosquitto.url, "shelly-lamp-3", mode="silent"))
    relay.publish("shelly-lamp-3/status/switch:0", '{"id":0,"output":false}')
    registered(running, "shelly-lamp-3")

    get = command(running, "shelly-lamp-3", target="lamp_state", value="on", expires_in=1)

    wait_for_state(get, "expired")
    assert len(relay.heard) == 1


# -- ChirpStack ---------------------------------------------------------------------------


def _lora_device(mosquitto, devices, dev_eui: str, mode: str = "obey") -> ChirpStackNetwork:
    network = devices(ChirpStackNetwork(mosquitto.url, APPLICATION, dev_eui, mode))
    uplink = {"fCnt": 7, "fPort": 2, "data": "AA==", "rxInfo": [{"rssi": -97, "snr": 7.5}]}
    network.event("up", uplink)
    return network


def test_a_chirpstack_downlink_is_enqueued_with_the_profiles_bytes_and_its_ack_makes_it_done(
    family, devices, mosquitto
):
    running = family(CHIRPSTACK)
    network = _lora_device(mosquitto, devices, "a84041000181af4f")
    registered(running, "a84041000181af4f")

    done = wait_for_state(
        command(running, "a84041000181af4f", target="lamp_state", value="on"), "done"
    )

    [(topic, payload)] = network.heard
    assert topic == f"application/{APPLICATION}/device/a84041000181af4f/command/down"
    item = json.loads(payload)
    assert (item["devEui"], item["confirmed"], item["fPort"]) == ("a84041000181af4f", True, 10)
    assert base64.b64decode(item["data"]) == b"\x01"
    assert [s["state"] for s in done["steps"]] == ["queued", "sent", "accepted", "done"]


def test_a_chirpstack_downlink_the_device_does_not_acknowledge_fails(family, devices, mosquitto):
    running = family(CHIRPSTACK)
    _lora_device(mosquitto, devices, "a84041000181af50", mode="fail")
    registered(running, "a84041000181af50")

    failed = wait_for_state(
        command(running, "a84041000181af50", target="lamp_state", value="on"), "failed"
    )

    assert failed["detail"] == "the device did not acknowledge it"


def test_a_chirpstack_device_never_heard_again_leaves_its_downlink_to_expire(
    family, devices, mosquitto
):
    running = family(CHIRPSTACK)
    network = _lora_device(mosquitto, devices, "a84041000181af51", mode="silent")
    registered(running, "a84041000181af51")

    get = command(running, "a84041000181af51", target="lamp_state", value="on", expires_in=1)

    wait_for_state(get, "expired")
    assert len(network.heard) == 1


def test_a_chirpstack_downlink_sent_but_never_acknowledged_times_out(family, devices, mosquitto):
    running = family(CHIRPSTACK, control={"done_timeout": "2s"})
    _lora_device(mosquitto, devices, "a84041000181af52", mode="no_ack")
    registered(running, "a84041000181af52")

    timed_out = wait_for_state(
        command(running, "a84041000181af52", target="lamp_state", value="on"), "timed_out"
    )

    assert [s["state"] for s in timed_out["steps"]] == ["queued", "sent", "accepted", "timed_out"]


# -- Alink --------------------------------------------------------------------------------


def _alink_lamp(mosquitto, devices, name: str, mode: str = "obey") -> AlinkDevice:
    device = devices(AlinkDevice(mosquitto.url, "a1Lamp7xQ2", name, mode))
    post = {"id": "1", "version": "1.0", "params": {"LightStatus": 0}}
    device.publish(f"/sys/a1Lamp7xQ2/{name}/thing/event/property/post", json.dumps(post))
    return device


def test_an_alink_property_set_is_replied_200_and_the_command_is_done(family, devices, mosquitto):
    running = family(ALINK)
    device = _alink_lamp(mosquitto, devices, "lamp-ali-1")
    registered(running, "lamp-ali-1")

    wait_for_state(command(running, "lamp-ali-1", target="lamp_state", value="on"), "done")

    [(topic, payload)] = device.heard
    assert topic == "/sys/a1Lamp7xQ2/lamp-ali-1/thing/service/property/set"
    request = json.loads(payload)
    assert request["method"] == "thing.service.property.set"
    assert request["params"] == {"LightStatus": 1}
    assert request["id"].isdigit() and int(request["id"]) <= 4294967295
    wait_until(lambda: running.latest("lamp-ali-1")["lamp_state"] == 1.0, what="the state")


def test_an_alink_service_is_invoked_for_an_action_and_its_reply_makes_it_done(
    family, devices, mosquitto
):
    running = family(ALINK)
    device = _alink_lamp(mosquitto, devices, "lamp-ali-2")
    registered(running, "lamp-ali-2")

    get = command(running, "lamp-ali-2", target="identify", args={"times": 3})
    wait_for_state(get, "done")

    [(topic, payload)] = device.heard
    assert topic == "/sys/a1Lamp7xQ2/lamp-ali-2/thing/service/Identify"
    request = json.loads(payload)
    assert (request["method"], request["params"]) == ("thing.service.Identify", {"times": 3})


def test_an_alink_reply_with_another_code_fails_with_its_message(family, devices, mosquitto):
    running = family(ALINK)
    _alink_lamp(mosquitto, devices, "lamp-ali-3", mode="fail")
    registered(running, "lamp-ali-3")

    failed = wait_for_state(
        command(running, "lamp-ali-3", target="lamp_state", value="on"), "failed"
    )

    assert failed["detail"] == "device is busy (code 6813)"


def test_an_alink_device_that_does_not_reply_leaves_its_command_to_expire(
    family, devices, mosquitto
):
    running = family(ALINK)
    device = _alink_lamp(mosquitto, devices, "lamp-ali-4", mode="silent")
    registered(running, "lamp-ali-4")

    get = command(running, "lamp-ali-4", target="lamp_state", value="on", expires_in=1)

    wait_for_state(get, "expired")
    assert len(device.heard) == 1
