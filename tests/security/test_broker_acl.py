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
    broker = start_broker(
        extra_global=[
            "allow_anonymous false",
            f"password_file {tmp_path / 'files' / 'passwd'}",
            f"acl_file {tmp_path / 'files' / 'acl'}",
        ]
    )
    return broker, passwords


@pytest.fixture
def ingest(secured, start_service):
    broker, _ = secured
    return start_service(
        f"mqtt://127.0.0.1:{broker.port}", mqtt=INGEST, ingest={"registration": "strict"}
    )


def device(secured, name, password=None):
    broker, passwords = secured
    return Device(broker.port, name, username=name, password=password or passwords[name])


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
    # The generated ACL lets no one send commands yet; this test's operator may.
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
