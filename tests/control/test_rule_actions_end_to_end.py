"""Through a real Mosquitto: a published river level crosses the danger line, the rule's
action sounds a simulated siren, its answer comes back, and the alert's timeline (API) shows
the command sent and done; a person's command is not fought; a kill -9 between fired and
done sends no second command."""

from __future__ import annotations

import json
import time

import httpx
import pytest
from device_kit import CommandedDevice
from integration.harness import Publisher, RunningService, make_service

from village_brain.core.devices import Device
from village_brain.simulator.layout import SimDevice
from village_brain.simulator.obey import Temper
from village_brain.simulator.runner import Simulator

from support.serve_process import ServeProcess
from support.waiting import wait_until

pytestmark = pytest.mark.integration

RULES = """
[[rule]]
id = "river_danger"
name = "河道水位超过危险线"
severity = "critical"
kind = "threshold"
sensor = "water_level"
village = "xiashan"
above = 3.2
clear_below = 3.1

[[rule.actions]]
on = "fired"
target = "siren_state"
value = "on"
device_kind = "siren"
expires_in = "2m"

[[rule.actions]]
on = "resolved"
target = "siren_state"
value = "off"
device_kind = "siren"
"""
SIREN = SimDevice("siren-e2e", "xiashan", "siren", 30.61, 119.60, "村委会广播塔", ("siren_state",))
GAUGE = Device("gauge-e2e", "xiashan", kind="river_gauge", place="石桥", sensors=("water_level",))


@pytest.fixture
def rules_file(tmp_path):
    path = tmp_path / "rules.toml"
    path.write_text(RULES, "utf-8")
    return path


@pytest.fixture
def village(mosquitto, tmp_path, rules_file):
    service = make_service(
        mosquitto.url,
        tmp_path / "data",
        f"rule-actions-{time.monotonic_ns()}",
        alerts={"rules_file": str(rules_file)},
    )
    service.register_devices([SIREN.registry_entry(), GAUGE])
    service.start()
    wait_until(service.receiver.connected.is_set, what="ingest to connect")
    yield RunningService(service)
    service.stop()


@pytest.fixture
def siren(mosquitto):
    sim = Simulator(mosquitto.url, [SIREN], rate=2.0, temper=Temper(fail=0, silent=0))
    sim.start()
    yield sim
    sim.stop()


@pytest.fixture
def publisher(mosquitto):
    made = Publisher(mosquitto.url)
    yield made
    made.close()


def level(publisher: Publisher, value: float) -> None:
    body = json.dumps({"values": {"water_level": value}})
    publisher.publish(f"village/xiashan/{GAUGE.id}/telemetry", body)


def danger_alert(get) -> dict | None:
    alerts = get("/api/v1/alerts", params={"device": GAUGE.id}).json()
    return next((a for a in alerts if a["rule_id"] == "river_danger"), None)


def timeline_kinds(get, alert_id: int) -> list[str]:
    return [e["kind"] for e in get(f"/api/v1/alerts/{alert_id}/timeline").json()]


def test_a_river_above_the_danger_line_sounds_the_siren_and_the_timeline_shows_it(
    village, siren, publisher
):
    get = village.api.get
    wait_until(lambda: village.latest(SIREN.id), timeout=30, what="the siren to report")
    level(publisher, 3.6)
    alert = wait_until(lambda: danger_alert(get), timeout=30, what="the danger alert")
    wait_until(
        lambda: "command_done" in timeline_kinds(get, alert["id"]),
        timeout=30,
        what="the siren's done on the alert's timeline",
    )
    assert timeline_kinds(get, alert["id"])[:3] == ["fired", "command_sent", "command_done"]
    (command,) = get(f"/api/v1/devices/{SIREN.id}/commands").json()
    assert (command["target"], command["value"], command["state"]) == ("siren_state", "on", "done")
    assert command["by"] == "rule:river_danger"
    wait_until(lambda: village.latest(SIREN.id).get("siren_state") == 1.0, what="siren on")

    level(publisher, 2.9)
    wait_until(lambda: village.latest(SIREN.id).get("siren_state") == 0.0, what="siren off")
    kinds = wait_until(
        lambda: (k := timeline_kinds(get, alert["id"])).count("command_done") == 2 and k,
        what="the siren's off on the timeline",
    )
    assert kinds.count("command_sent") == 2 and "resolved" in kinds


def test_a_person_who_silenced_the_siren_is_not_overruled_when_the_river_falls(
    village, siren, publisher
):
    get = village.api.get
    wait_until(lambda: village.latest(SIREN.id), timeout=30, what="the siren to report")
    level(publisher, 3.6)
    alert = wait_until(lambda: danger_alert(get), timeout=30, what="the danger alert")
    wait_until(lambda: "command_done" in timeline_kinds(get, alert["id"]), timeout=30, what="on")
    by_hand = village.api.post(
        f"/api/v1/devices/{SIREN.id}/commands",
        json={"target": "siren_state", "value": "off", "confirm": True, "reason": "水位已稳"},
    )
    assert by_hand.status_code == 202, by_hand.text
    level(publisher, 3.7)  # still above: nothing new is sent
    level(publisher, 2.9)
    wait_until(
        lambda: "command_skipped" in timeline_kinds(get, alert["id"]),
        timeout=30,
        what="the resolved action to be held back",
    )
    commands = get(f"/api/v1/devices/{SIREN.id}/commands").json()
    assert [c["value"] for c in reversed(commands)] == ["on", "off"]


def test_a_rule_whose_action_names_an_unregistered_device_is_refused_by_the_api(village):
    rule = {
        "name": "x",
        "severity": "major",
        "kind": "threshold",
        "sensor": "water_level",
        "above": 3.0,
        "actions": [{"target": "siren_state", "value": "on", "devices": ["siren-nowhere"]}],
    }
    response = village.api.put("/api/v1/rules/siren_nowhere", json=rule)
    assert response.status_code == 422
    assert "siren-nowhere" in response.text
    good = {**rule, "actions": [{"target": "siren_state", "value": "on", "devices": [SIREN.id]}]}
    response = village.api.put("/api/v1/rules/siren_here", json=good)
    assert response.status_code == 200, response.text
    assert response.json()["actions"][0]["devices"] == [SIREN.id]


def test_a_kill_between_fired_and_done_sends_no_second_command(mosquitto, tmp_path):
    # A siren that registered itself has no kind: the rule names it.
    rules_file = tmp_path / "kill-rules.toml"
    rules_file.write_text(RULES.replace('device_kind = "siren"', 'devices = ["siren-k"]'))
    serve = ServeProcess(
        mosquitto.url, tmp_path / "data", tmp_path / "serve.log", f"ra-kill-{time.monotonic_ns()}"
    )
    serve.env["VILLAGE_BRAIN_ALERTS__RULES_FILE"] = str(rules_file)
    answering: list[bool] = []
    siren_device = CommandedDevice(
        mosquitto.url,
        "xiashan",
        "siren-k",
        lambda c: [{"status": "done", "state": {"siren_state": c["value"]}}] if answering else [],
        client_id="siren-k",
    )
    publisher = Publisher(mosquitto.url)

    def get(path: str, **kw) -> httpx.Response:
        return httpx.get(serve.url + path, timeout=30, **kw)

    def alert_of_gauge() -> dict | None:
        try:
            alerts = get("/api/v1/alerts", params={"device": "gauge-k"}).json()
        except httpx.TransportError:
            return None
        return next((a for a in alerts if a["rule_id"] == "river_danger"), None)

    try:
        serve.start()
        announce = {"values": {"siren_state": "off"}}
        publisher.publish("village/xiashan/siren-k/telemetry", json.dumps(announce))
        wait_until(lambda: get("/api/v1/devices/siren-k").status_code == 200, what="the siren")
        publisher.publish(
            "village/xiashan/gauge-k/telemetry", json.dumps({"values": {"water_level": 3.6}})
        )
        wait_until(lambda: siren_device.received, timeout=30, what="the siren to get the command")
        alert = wait_until(alert_of_gauge, what="the danger alert")
        serve.kill()
        answering.append(True)
        serve.start()
        wait_until(
            lambda: "command_done" in timeline_kinds(get, alert["id"]),
            timeout=30,
            what="done on the timeline after the restart",
        )
        assert {c["id"] for c in siren_device.received} == {siren_device.received[0]["id"]}
        commands = get("/api/v1/devices/siren-k/commands").json()
        assert len(commands) == 1 and commands[0]["state"] == "done"
    finally:
        serve.kill()
        publisher.close()
        siren_device.close()
