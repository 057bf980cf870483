"""Through a real Mosquitto: API command → simulated lamp → its answer → lifecycle `done`."""

import os
import statistics
import time

import pytest
from device_kit import CommandedDevice, wait_for_state

from village_brain.core.devices import Device
from village_brain.simulator.layout import SimDevice
from village_brain.simulator.obey import Temper
from village_brain.simulator.runner import Simulator

from support.waiting import wait_until

pytestmark = pytest.mark.integration

LAMP = SimDevice("lamp-e2e", "xiashan", "street_lamp", 30.61, 119.60, "村口", ("lamp_state",))


@pytest.fixture
def lamp(mosquitto):
    sim = Simulator(mosquitto.url, [LAMP], rate=2.0, temper=Temper(fail=0, silent=0))
    sim.start()
    yield sim
    sim.stop()


def command(running, device, **body):
    return running.api.post(f"/api/v1/devices/{device}/commands", json=body)


def lifecycle(running, command_id):
    return lambda: running.api.get(f"/api/v1/commands/{command_id}").json()


def test_a_command_turns_a_simulated_lamp_on_and_its_answer_makes_it_done(running, lamp):
    wait_until(lambda: running.latest("lamp-e2e"), timeout=30, what="the lamp to report")
    sent = command(running, "lamp-e2e", target="lamp_state", value="on", reason="evening")
    assert sent.status_code == 202, sent.text
    done = wait_for_state(lifecycle(running, sent.json()["id"]), "done")
    assert [s["state"] for s in done["steps"]] == ["queued", "sent", "accepted", "done"]
    assert done["new_state"] == {"lamp_state": "on"} and done["why"] == "evening"
    wait_until(lambda: running.latest("lamp-e2e").get("lamp_state") == 1.0, what="lamp on")


def test_click_to_done_latency(running, lamp):
    """Measures API post to `done` (p50/p99); prints them with the machine's load."""
    wait_until(lambda: running.latest("lamp-e2e"), timeout=30, what="the lamp to report")
    took = []
    for n in range(40):
        started = time.perf_counter()
        sent = command(running, "lamp-e2e", target="lamp_state", value="on" if n % 2 else "off")
        get = lifecycle(running, sent.json()["id"])
        wait_until(lambda: get()["state"] == "done", timeout=30, what="done")  # noqa: B023
        took.append((time.perf_counter() - started) * 1000)
    p50 = statistics.median(took)
    p99 = statistics.quantiles(took, n=100)[98]
    print(
        f"\nclick-to-done: p50 {p50:.1f} ms, p99 {p99:.1f} ms over {len(took)} commands; "
        f"load {os.getloadavg()}"
    )
    assert p50 < 5000


def test_a_command_to_a_device_that_never_comes_online_expires(running):
    running.service.register_devices([Device("lamp-dark", "xiashan", sensors=("lamp_state",))])
    sent = command(running, "lamp-dark", target="lamp_state", value="on", expires_in=1)
    assert sent.status_code == 202, sent.text
    expired = wait_for_state(lifecycle(running, sent.json()["id"]), "expired")
    assert [s["state"] for s in expired["steps"]] == ["queued", "sent", "expired"]


def test_an_offline_device_gets_its_command_from_its_broker_session_within_the_expiry(
    running, mosquitto
):
    def obey(cmd):
        return [{"status": "accepted"}, {"status": "done", "state": {"lamp_state": cmd["value"]}}]

    device = CommandedDevice(mosquitto.url, "xiashan", "lamp-away", obey, client_id="lamp-away")
    device.close()  # gone, but the broker keeps its session and subscription
    running.service.register_devices([Device("lamp-away", "xiashan", sensors=("lamp_state",))])
    sent = command(running, "lamp-away", target="lamp_state", value="on", expires_in=60)
    get = lifecycle(running, sent.json()["id"])
    wait_for_state(get, "sent")
    back = CommandedDevice(mosquitto.url, "xiashan", "lamp-away", obey, client_id="lamp-away")
    try:
        wait_for_state(get, "done")
        assert back.received[0]["id"] == sent.json()["id"]
        expiry = back.properties[0].MessageExpiryInterval
        assert 0 < expiry <= 60  # the broker counted down the time it held it
    finally:
        back.close()


def test_mqtt5_devices_get_response_topic_and_correlation_data(running, mosquitto):
    running.service.register_devices([Device("valve-7", "xiashan", sensors=("valve_position",))])
    device = CommandedDevice(mosquitto.url, "xiashan", "valve-7", lambda c: [{"status": "done"}])
    try:
        sent = command(running, "valve-7", target="valve_position", value=40)
        wait_for_state(lifecycle(running, sent.json()["id"]), "done")
        props = device.properties[0]
        assert props.ResponseTopic == "village/xiashan/valve-7/command/result"
        assert props.CorrelationData == sent.json()["id"].encode()
        assert device.received[0]["value"] == 40.0
    finally:
        device.close()
