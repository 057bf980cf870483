"""kill -9 of a real `serve` between `sent` and `done` loses no command state."""

import json
import subprocess
import sys
import time

import httpx
import pytest
from device_kit import CommandedDevice
from integration.harness import Publisher

from support.serve_process import ServeProcess
from support.waiting import wait_until

pytestmark = pytest.mark.integration


def cli(data_dir, *args, stdin=""):
    command = [sys.executable, "-m", "village_brain.cli", *args, "--data-dir", str(data_dir)]
    done = subprocess.run(command, input=stdin, capture_output=True, text=True, check=True)
    return done.stdout.strip()


@pytest.fixture
def serve(mosquitto, tmp_path):
    data = tmp_path / "data"
    process = ServeProcess(
        mosquitto.url, data, tmp_path / "serve.log", f"kill-{time.monotonic_ns()}"
    )
    cli(data, "users", "add", "wang", "--role", "operator", stdin="a long enough password\n")
    process.token = cli(data, "users", "token", "wang").splitlines()[0]
    process.start()
    yield process
    process.kill()


def api(serve, method, path, **kw):
    headers = {"Authorization": f"Bearer {serve.token}"}
    return httpx.request(method, serve.url + path, headers=headers, timeout=30, **kw)


def state_of(serve, command_id):
    try:
        return api(serve, "GET", f"/api/v1/commands/{command_id}").json()
    except httpx.TransportError:
        return {}


def registered(serve, mosquitto, device):
    publisher = Publisher(mosquitto.url)
    publisher.publish(
        f"village/xiashan/{device}/telemetry", json.dumps({"values": {"lamp_state": "off"}})
    )
    publisher.close()
    wait_until(
        lambda: api(serve, "GET", f"/api/v1/devices/{device}").status_code == 200,
        what="the device to be registered",
    )


def test_an_accepted_command_is_done_by_an_answer_sent_while_serve_was_dead(serve, mosquitto):
    registered(serve, mosquitto, "lamp-k1")
    finish = []
    device = CommandedDevice(
        mosquitto.url, "xiashan", "lamp-k1", lambda c: [{"status": "accepted"}]
    )
    try:
        sent = api(
            serve,
            "POST",
            "/api/v1/devices/lamp-k1/commands",
            json={"target": "lamp_state", "value": "on", "reason": "night patrol"},
        )
        assert sent.status_code == 202, sent.text
        command_id = sent.json()["id"]
        wait_until(lambda: state_of(serve, command_id).get("state") == "accepted", what="accepted")
        serve.kill()
        body = json.dumps({"id": command_id, "status": "done", "state": {"lamp_state": "on"}})
        device.client.publish(
            "village/xiashan/lamp-k1/command/result", body, qos=1
        ).wait_for_publish(10)
        finish.append(body)
        serve.start()
        wait_until(
            lambda: state_of(serve, command_id).get("state") == "done", timeout=30, what="done"
        )
        command = state_of(serve, command_id)
        assert [s["state"] for s in command["steps"]] == ["queued", "sent", "accepted", "done"]
        assert (command["by"], command["why"]) == ("wang", "night patrol")
    finally:
        device.close()


def test_a_sent_command_is_sent_again_after_a_kill_and_done_once(serve, mosquitto):
    registered(serve, mosquitto, "lamp-k2")
    answering = []
    device = CommandedDevice(
        mosquitto.url,
        "xiashan",
        "lamp-k2",
        lambda c: [{"status": "done", "state": {"lamp_state": c["value"]}}] if answering else [],
    )
    try:
        sent = api(
            serve,
            "POST",
            "/api/v1/devices/lamp-k2/commands",
            json={"target": "lamp_state", "value": "on", "expires_in": 120},
        )
        command_id = sent.json()["id"]
        wait_until(lambda: device.received, what="the device to get the command")
        assert state_of(serve, command_id)["state"] == "sent"
        serve.kill()
        answering.append(True)
        serve.start()
        wait_until(
            lambda: state_of(serve, command_id).get("state") == "done", timeout=30, what="done"
        )
        assert {c["id"] for c in device.received} == {command_id} and len(device.received) >= 2
        steps = [s["state"] for s in state_of(serve, command_id)["steps"]]
        assert steps == ["queued", "sent", "done"]
    finally:
        device.close()
