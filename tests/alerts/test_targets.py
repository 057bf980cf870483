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


@pytest.mark.parametrize(
    "address",
    [
        "::127.0.0.1",  # IPv4-compatible
        "::10.0.0.1",
        "::ffff:0:127.0.0.1",  # IPv4-translated
        "::ffff:192.168.1.1",  # IPv4-mapped
        "64:ff9b::7f00:1",  # NAT64 well-known prefix, to 127.0.0.1
        "64:ff9b::a9fe:a9fe",  # NAT64 to 169.254.169.254
        "64:ff9b:1::808:808",  # local-use NAT64, whatever it embeds
        "2002:7f00:1::1",  # 6to4 of 127.0.0.1
        "2002:c0a8:101::1",  # 6to4 of 192.168.1.1
        "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo, client 127.0.0.1
        "fec0::1",  # site-local
    ],
)
def test_an_ipv6_address_that_leads_to_an_internal_ipv4_is_refused(address):
    with pytest.raises(TargetRefused, match="allow_private_targets"):
        check_target("https://hooks.example/x", False, resolver(address))


@pytest.mark.parametrize("address", ["64:ff9b::808:808", "2002:808:808::1", "::ffff:8.8.8.8"])
def test_an_ipv6_address_that_leads_to_a_public_ipv4_is_accepted(address):
    check_target("https://hooks.example/x", False, resolver(address))


@pytest.mark.parametrize(
    "url", ["http://[::127.0.0.1]/", "http://[64:ff9b::7f00:1]/x", "http://[::ffff:7f00:1]:80/"]
)
def test_an_address_written_in_the_url_is_checked_the_same_way(url):
    with pytest.raises(TargetRefused, match="allow_private_targets"):
        check_target(url, False)


@pytest.mark.parametrize("url", ["http://hooks.example:99999/x", "http://[::1/x"])
def test_a_url_that_cannot_be_parsed_is_refused_with_the_reason(url):
    with pytest.raises(TargetRefused, match="not usable"):
        check_target(url, True)


def test_a_refusal_does_not_repeat_the_url_and_its_key():
    with pytest.raises(TargetRefused) as refused:
        check_target("ftp://robot.example/send?access_token=tok-123", True)
    assert "tok-123" not in str(refused.value)
