"""A real Mosquitto running the generated passwd and ACL: each device speaks only for itself."""

import json
import threading

import pytest

from village_brain.broker.credentials import hash_password
from village_brain.broker.credentials_commands import issue_credentials, write_broker_files
from village_brain.core.config import load_settings
from village_brain.core.devices import Device as Registered
from village_brain.store.registry import RegistryStore

from security_kit import Device, wait_until

pytestmark = pytest.mark.integration

INGEST = {"username": "vb-ingest", "password": "ingest-pw-7"}


@pytest.fixture
def secured(tmp_path, start_broker):
    """Broker files from a registry of two devices; returns (broker, passwords)."""
    registry = RegistryStore(tmp_path / "data" / "registry.sqlite3")
    registry.upsert_devices(
        [Registered(id="gauge-1", village="xiashan"), Registered(id="gauge-2", village="xiashan")]
    )
    registry.close()
    settings = load_settings(store={"data_dir": tmp_path / "data"}, mqtt=INGEST)
    passwords = dict(issue_credentials(settings, rotate=[]))
    write_broker_files(settings, tmp_path / "files")
    with (tmp_path / "files" / "passwd").open("a") as passwd:
        passwd.write(f"operator:{hash_password('op-pw')}\n")
    with (tmp_path / "files" / "acl").open("a") as acl:
        acl.write("\nuser operator\ntopic write village/+/+/command/#\n")
    broker = start_broker(config=tmp_path / "files" / "mosquitto.conf")
    return broker, passwords


@pytest.fixture
def ingest(secured, start_service):
    broker, _ = secured
    return start_service(
        f"mqtt://127.0.0.1:{broker.port}", mqtt=INGEST, ingest={"registration": "strict"}
    )


def device(secured, name, password=None, client_id=None, will=None):
    broker, passwords = secured
    password = password or passwords[name]
    return Device(broker.port, client_id or name, username=name, password=password, will=will)


def status_watcher(secured):
    """The ingest user's view of every device's status topic, Last Wills included."""
    broker, _ = secured
    watcher = Device(broker.port, "watcher", **INGEST)
    subscribed = threading.Event()
    watcher.client.on_subscribe = lambda *_: subscribed.set()
    watcher.client.subscribe("village/+/+/status", qos=1)
    assert subscribed.wait(5)
    return watcher


def offline_will(name):
    return f"village/xiashan/{name}/status", json.dumps({"online": False})


def reading(value):
    return json.dumps({"values": {"water_level": value}})


def test_a_device_with_its_password_publishes_its_readings(secured, ingest):
    gauge = device(secured, "gauge-1")
    assert gauge.publish("village/xiashan/gauge-1/telemetry", reading(1.5)) == "Success"
    wait_until(lambda: ingest.series.latest("gauge-1"), what="the reading")
    gauge.close()


def test_a_wrong_password_is_refused_at_connect(secured):
    intruder = device(secured, "gauge-1", password="guess")
    assert intruder.refused == "Not authorized"
    intruder.close()


def test_an_anonymous_client_is_refused(secured):
    broker, _ = secured
    anonymous = Device(broker.port, "anon")
    assert anonymous.refused == "Not authorized"
    anonymous.close()


def test_a_device_cannot_publish_as_another_device(secured, ingest):
    gauge = device(secured, "gauge-1")
    refused = gauge.publish("village/xiashan/gauge-2/telemetry", reading(9.9))
    gauge.publish("village/xiashan/gauge-1/telemetry", reading(1.0))
    wait_until(lambda: ingest.series.latest("gauge-1"), what="the device's own reading")
    assert refused == "Not authorized"
    assert ingest.series.latest("gauge-2") == []
    gauge.close()


def test_a_device_receives_its_own_commands_and_not_another_devices(tmp_path, secured):
    broker, _ = secured
    gauge = device(secured, "gauge-1")
    subscribed = threading.Event()
    gauge.client.on_subscribe = lambda *_: subscribed.set()
    gauge.client.subscribe("village/xiashan/+/command/#", qos=1)
    assert subscribed.wait(5)
    # The generated ACL lets only ingest send commands; this test's operator may too.
    operator = Device(broker.port, "operator", username="operator", password="op-pw")
    operator.publish("village/xiashan/gauge-2/command/reboot", "{}")
    operator.publish("village/xiashan/gauge-1/command/reboot", "{}")
    wait_until(lambda: gauge.received, what="a command")
    assert gauge.received == ["village/xiashan/gauge-1/command/reboot"]
    gauge.close()
    operator.close()


def test_the_ingest_user_may_not_publish_readings(secured):
    broker, _ = secured
    ingest_client = Device(broker.port, "sneaky", **INGEST)
    result = ingest_client.publish("village/xiashan/gauge-1/telemetry", reading(2.0))
    assert result == "Not authorized"
    ingest_client.close()


def test_a_device_using_another_devices_client_id_does_not_knock_it_offline(secured):
    watcher = status_watcher(secured)
    gauge_2 = device(secured, "gauge-2", will=offline_will("gauge-2"))
    impostor = device(secured, "gauge-1", client_id="gauge-2")
    assert impostor.refused is None
    online = json.dumps({"online": True})
    assert gauge_2.publish("village/xiashan/gauge-2/status", online) == "Success"
    wait_until(lambda: watcher.payloads, what="gauge-2's status")
    # Had the impostor taken gauge-2's session, gauge-2's Will would have come first.
    assert watcher.payloads == [("village/xiashan/gauge-2/status", online)]
    assert gauge_2.disconnects == []
    for client in (impostor, gauge_2, watcher):
        client.close()


def test_a_client_id_stands_for_the_user_who_logged_in(secured):
    """The broker names each session after its user: a second login as gauge-1, whatever
    client id it sends, replaces gauge-1's own session and nobody else's."""
    watcher = status_watcher(secured)
    gauge_1 = device(secured, "gauge-1", will=offline_will("gauge-1"))
    gauge_2 = device(secured, "gauge-2", will=offline_will("gauge-2"))
    second = device(secured, "gauge-1", client_id="gauge-2")
    wait_until(lambda: watcher.payloads, what="gauge-1's Will")
    assert watcher.payloads == [offline_will("gauge-1")]
    assert second.publish("village/xiashan/gauge-1/status", "{}") == "Success"
    assert gauge_2.disconnects == []
    for client in (second, gauge_2, gauge_1, watcher):
        client.close()


def test_ingest_keeps_its_queued_readings_under_its_user_name(secured, start_service):
    """Sessions are keyed by user name, so ingest's mqtt.client_id no longer names its session:
    readings queued while it was away reach it however it calls itself."""
    broker, _ = secured
    url = f"mqtt://127.0.0.1:{broker.port}"
    strict = {"registration": "strict"}
    first = start_service(url, mqtt=INGEST | {"client_id": "ingest-a"}, ingest=strict)
    first.stop()
    gauge = device(secured, "gauge-1")
    assert gauge.publish("village/xiashan/gauge-1/telemetry", reading(4.2)) == "Success"
    again = start_service(url, mqtt=INGEST | {"client_id": "ingest-b"}, ingest=strict)
    wait_until(lambda: again.series.latest("gauge-1"), what="the reading queued meanwhile")
    gauge.close()


def test_ingest_sends_commands_and_each_device_answers_only_its_own(secured, ingest):
    from village_brain.control.records import CommandRequest, Origin

    gauge = device(secured, "gauge-1")
    subscribed = threading.Event()
    gauge.client.on_subscribe = lambda *_: subscribed.set()
    gauge.client.subscribe("village/xiashan/gauge-1/command", qos=1)
    assert subscribed.wait(5)
    request = CommandRequest(device="gauge-1", target="identify", id="c-acl")
    ingest.control.send(request, Origin(by="test"))
    wait_until(lambda: gauge.payloads, what="the command through the ACL")
    forged = json.dumps({"id": "c-acl", "status": "failed", "reason": "forged"})
    assert gauge.publish("village/xiashan/gauge-2/command/result", forged) == "Not authorized"
    assert gauge.publish("village/xiashan/gauge-1/command", "{}") == "Not authorized"
    answer = json.dumps({"id": "c-acl", "status": "done"})
    assert gauge.publish("village/xiashan/gauge-1/command/result", answer) == "Success"
    wait_until(lambda: ingest.control.get("c-acl").state == "done", what="done")
    gauge.close()
