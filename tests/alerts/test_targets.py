"""Webhook targets: the API must not become a way to reach the server's own network."""

from __future__ import annotations

import pytest

from village_brain.alerts.targets import TargetRefused, check_target


def resolver(*addresses: str):
    return lambda _host, _port: list(addresses)


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "192.168.1.10",
        "172.16.0.5",
        "169.254.169.254",
        "::1",
        "fe80::1",
        "::ffff:127.0.0.1",
        "100.64.0.1",
        "0.0.0.0",
    ],
)
def test_a_name_resolving_to_an_internal_address_is_refused(address):
    with pytest.raises(TargetRefused, match="allow_private_targets"):
        check_target("https://hooks.example/x", False, resolver("203.0.113.9", address))


def test_a_public_address_is_accepted():
    check_target("https://oapi.dingtalk.com/robot/send", False, resolver("106.11.35.90"))


def test_internal_addresses_are_accepted_when_configuration_allows_them():
    check_target("http://127.0.0.1:9000/hook", True, resolver("127.0.0.1"))


def test_a_name_that_does_not_resolve_is_refused():
    def fails(_host: str, _port: int) -> list[str]:
        raise OSError("no such name")

    with pytest.raises(TargetRefused, match="cannot resolve"):
        check_target("https://nowhere.invalid/x", False, fails)


@pytest.mark.parametrize("url", ["ftp://example.com/x", "file:///etc/passwd", "http:///x"])
def test_only_http_urls_with_a_host_are_accepted(url):
    with pytest.raises(TargetRefused, match="http"):
        check_target(url, True)
