"""Where staff open the dashboard (--http), as the log says it at start, and port 0."""

import pytest

from village_brain.broker.device_address import InterfaceAddress
from village_brain.cli import _parser, _settings_from
from village_brain.core.config import ConfigError
from village_brain.core.hostport import split_host_port
from village_brain.web_address import dashboard_urls, staff_line

LAN = [
    InterfaceAddress("lo", "127.0.0.1", up=True),
    InterfaceAddress("docker0", "172.17.0.1", up=True),
    InterfaceAddress("eth0", "192.168.1.10", up=True),
    InterfaceAddress("wlan0", "192.168.8.2", up=True),
]


def serve_settings(*flags: str):
    return _settings_from(_parser().parse_args(["serve", *flags]))


def test_staff_are_told_the_lan_address_of_a_dashboard_on_every_interface():
    assert staff_line("0.0.0.0", 8080, LAN) == (
        "staff: open http://192.168.1.10:8080 in a browser on the village LAN "
        "(also http://192.168.8.2:8080)"
    )


def test_a_dashboard_on_loopback_is_said_to_be_for_this_machine_with_the_flag_that_opens_it():
    line = staff_line("127.0.0.1", 8080, LAN)
    assert line.startswith("staff: open http://127.0.0.1:8080 on this machine only")
    assert "--http 0.0.0.0:8080" in line


def test_without_a_lan_address_staff_are_sent_to_loopback():
    assert dashboard_urls("0.0.0.0", 8080, LAN[:2]) == ["http://127.0.0.1:8080"]
    assert "no network address was found" in staff_line("0.0.0.0", 8080, LAN[:2])


def test_an_ipv6_listen_address_is_bracketed_in_the_url():
    assert dashboard_urls("fd00::2", 8080, LAN) == ["http://[fd00::2]:8080"]


def test_the_http_flag_takes_port_zero_for_a_port_the_system_picks():
    http = serve_settings("--http", "127.0.0.1:0").http
    assert (http.host, http.port) == ("127.0.0.1", 0)


def test_the_broker_address_still_needs_a_real_port():
    with pytest.raises(ConfigError, match=r"--mqtt-listen .*port from 1 to 65535"):
        serve_settings("--mqtt-listen", "0.0.0.0:0")


def test_port_zero_is_allowed_only_when_asked_for():
    assert split_host_port("[::]:0", any_port=True) == ("::", 0)
    with pytest.raises(ValueError, match="port from 1 to 65535"):
        split_host_port("[::]:0")
