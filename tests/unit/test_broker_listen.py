"""Where the embedded broker listens (mqtt.listen, --mqtt-listen) and what devices are told."""

import socket

import pytest

from village_brain.broker.device_address import InterfaceAddress, devices_line, lan_addresses
from village_brain.broker.ports import connectable_host, listen_problem
from village_brain.cli import _parser, _settings_from
from village_brain.core.config import ConfigError, load_settings
from village_brain.core.hostport import join_host_port, split_host_port


def serve_settings(*flags: str):
    return _settings_from(_parser().parse_args(["serve", *flags]))


def test_the_embedded_broker_listens_on_every_interface_by_default():
    assert load_settings().mqtt.listen_address == ("0.0.0.0", 1883)


def test_the_mqtt_listen_flag_sets_the_address():
    assert serve_settings("--mqtt-listen", "127.0.0.1:1999").mqtt.listen_address == (
        "127.0.0.1",
        1999,
    )


def test_the_listen_address_can_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("VILLAGE_BRAIN_MQTT__LISTEN", "[::]:8883")
    assert load_settings().mqtt.listen_address == ("::", 8883)


@pytest.mark.parametrize("value", ["1883", ":1883", "0.0.0.0:", "host:99999", "::1:1883", "h:x"])
def test_a_listen_flag_that_is_not_host_port_says_how_to_write_it(value):
    with pytest.raises(ConfigError, match=r"--mqtt-listen .*write HOST:PORT.*e\.g\. 0\.0\.0\.0"):
        serve_settings("--mqtt-listen", value)


def test_a_listen_setting_that_is_not_host_port_is_named():
    with pytest.raises(ConfigError, match=r"mqtt\.listen: 'nowhere': write HOST:PORT"):
        load_settings(mqtt={"listen": "nowhere"})


def test_an_http_flag_out_of_range_says_how_to_write_it():
    with pytest.raises(ConfigError, match=r"--http '127\.0\.0\.1:70000': write HOST:PORT"):
        serve_settings("--http", "127.0.0.1:70000")


def test_host_port_round_trips_ipv6_in_brackets():
    assert split_host_port("[fd00::2]:1883") == ("fd00::2", 1883)
    assert join_host_port("fd00::2", 1883) == "[fd00::2]:1883"


def test_a_broker_on_every_interface_is_reached_locally_on_loopback():
    assert connectable_host("0.0.0.0") == "127.0.0.1"
    assert connectable_host("192.168.1.10") == "192.168.1.10"


def test_a_port_someone_listens_on_is_reported_in_use():
    with socket.socket() as occupant:
        occupant.bind(("127.0.0.1", 0))
        occupant.listen()
        problem = listen_problem("127.0.0.1", occupant.getsockname()[1])
    assert problem is not None and "in use" in problem.strerror


LAN = [
    InterfaceAddress("lo", "127.0.0.1", up=True),
    InterfaceAddress("docker0", "172.17.0.1", up=True),
    InterfaceAddress("wlan0", "58.32.0.7", up=True),
    InterfaceAddress("eth0", "192.168.1.10", up=True),
    InterfaceAddress("eth1", "10.0.0.5", up=False),
    InterfaceAddress("eth2", "169.254.3.4", up=True),
]


def test_lan_addresses_leave_out_loopback_bridges_link_local_and_down_interfaces():
    assert lan_addresses(LAN) == ["192.168.1.10", "58.32.0.7"]


def test_devices_are_told_the_likeliest_lan_address_of_a_broker_on_every_interface():
    assert devices_line("0.0.0.0", 1883, LAN) == (
        "devices: publish to mqtt://192.168.1.10:1883 (this machine's other addresses: 58.32.0.7)"
    )


def test_devices_are_told_the_address_the_broker_listens_on_when_it_is_one():
    assert devices_line("192.168.1.10", 1884, LAN) == "devices: publish to mqtt://192.168.1.10:1884"


def test_a_broker_on_loopback_is_said_to_be_out_of_devices_reach():
    line = devices_line("127.0.0.1", 1883, LAN)
    assert "none on the LAN can reach" in line and "--mqtt-listen" in line


def test_without_a_lan_address_devices_are_told_to_use_this_machines_address():
    line = devices_line("0.0.0.0", 1883, LAN[:2])
    assert line.startswith("devices: publish to mqtt://<this machine's address>:1883")
