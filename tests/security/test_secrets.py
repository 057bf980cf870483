"""No secret ever shows: not in the log, not in `village-brain config`, not in an API answer."""

import json
import logging

import pytest
from fastapi.testclient import TestClient

from village_brain.api.app import create_app
from village_brain.cli import main

from security_kit import Device, wait_until
from support.ports import free_port

BROKER_PASSWORD = "broker-pw-ce4f9e"
INFLUX_TOKEN = "influx-token-91ad2b"


@pytest.mark.integration
def test_a_running_service_never_logs_its_secrets(plain_broker, start_service, caplog):
    caplog.set_level(logging.DEBUG)
    unreachable_influx = f"http://127.0.0.1:{free_port()}"
    service = start_service(
        plain_broker.url,
        mqtt={"username": "vb-ingest", "password": BROKER_PASSWORD},
        store={
            "backend": "influxdb",
            "influxdb": {"url": unreachable_influx, "token": INFLUX_TOKEN, "timeout": "1s"},
        },
    )
    gauge = Device(plain_broker.port, "secret-gauge")
    gauge.publish("village/xiashan/secret-gauge/telemetry", json.dumps({"values": {"rssi": -1}}))
    wait_until(lambda: "InfluxDB" in caplog.text, what="the store to report InfluxDB down")
    api = TestClient(create_app(service.api_context()), raise_server_exceptions=False)
    answers = [api.get(path).text for path in ("/api/v1/ingest/stats", "/api/v1/devices")]
    gauge.close()
    for text in [caplog.text, *answers]:
        assert BROKER_PASSWORD not in text and INFLUX_TOKEN not in text


def test_the_config_command_hides_secrets(monkeypatch, capsys):
    monkeypatch.setenv("VILLAGE_BRAIN_MQTT__PASSWORD", BROKER_PASSWORD)
    monkeypatch.setenv("VILLAGE_BRAIN_STORE__INFLUXDB__TOKEN", INFLUX_TOKEN)
    monkeypatch.setenv("VILLAGE_BRAIN_STORE__INFLUXDB__PASSWORD", "influx-pw-2")
    assert main(["config"]) == 0
    shown = capsys.readouterr().out
    assert json.loads(shown)["mqtt"]["password"] == "**********"
    for secret in (BROKER_PASSWORD, INFLUX_TOKEN, "influx-pw-2"):
        assert secret not in shown


def test_a_configuration_error_does_not_echo_a_secret(monkeypatch, capsys):
    monkeypatch.setenv("VILLAGE_BRAIN_MQTT__PASSWORD", BROKER_PASSWORD)
    monkeypatch.setenv("VILLAGE_BRAIN_MQTT__KEEPALIVE", "1")
    assert main(["config"]) == 2
    assert BROKER_PASSWORD not in capsys.readouterr().err
