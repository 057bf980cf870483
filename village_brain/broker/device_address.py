"""The address devices should publish to, said in one log line at start.

A broker listening on every interface cannot know which of the machine's addresses the village
LAN uses, so it reads the addresses of the local interfaces (nothing is sent anywhere) and
names the likeliest first: an interface that is up, not loopback or link-local, not a
container or VM bridge, with a private address before a public one.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass

import psutil

from village_brain.core.hostport import join_host_port

_WILDCARD_HOSTS = frozenset({"0.0.0.0", "::", ""})
# Bridges to containers and VMs on this machine: devices on the LAN never reach these.
_BRIDGE_PREFIXES = ("docker", "br-", "veth", "virbr", "cni", "flannel", "podman", "lxcbr")


@dataclass(frozen=True)
class InterfaceAddress:
    interface: str
    address: str
    up: bool


def interface_addresses() -> list[InterfaceAddress]:
    """This machine's IPv4 interface addresses, read locally."""
    try:
        stats = psutil.net_if_stats()
        found = psutil.net_if_addrs()
    except (psutil.Error, OSError):
        return []
    return [
        InterfaceAddress(name, entry.address, name in stats and stats[name].isup)
        for name, entries in found.items()
        for entry in entries
        if entry.family == socket.AF_INET
    ]


def lan_addresses(addresses: list[InterfaceAddress]) -> list[str]:
    """The addresses devices on a LAN could use, likeliest first."""
    usable = [ipaddress.ip_address(entry.address) for entry in addresses if _on_a_lan(entry)]
    ordered = sorted(usable, key=lambda ip: not ip.is_private)  # stable: interface order kept
    return list(dict.fromkeys(str(ip) for ip in ordered))


def _on_a_lan(entry: InterfaceAddress) -> bool:
    ip = ipaddress.ip_address(entry.address)
    local = ip.is_loopback or ip.is_link_local or ip.is_unspecified
    return entry.up and not local and not entry.interface.startswith(_BRIDGE_PREFIXES)


def devices_line(host: str, port: int, addresses: list[InterfaceAddress]) -> str:
    """What to tell the operator about reaching a broker that listens on host:port."""
    if host in _WILDCARD_HOSTS:
        lan = lan_addresses(addresses)
        if not lan:
            return (
                f"devices: publish to mqtt://<this machine's address>:{port} (it listens on "
                f"{join_host_port(host, port)}; no network address was found besides loopback)"
            )
        first, *others = lan
        also = f" (this machine's other addresses: {', '.join(others)})" if others else ""
        return f"devices: publish to mqtt://{join_host_port(first, port)}{also}"
    if _is_loopback(host):
        return (
            f"devices: none on the LAN can reach mqtt://{join_host_port(host, port)} (this "
            f"machine only); listen on 0.0.0.0:{port} (--mqtt-listen, mqtt.listen) for them"
        )
    return f"devices: publish to mqtt://{join_host_port(host, port)}"


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name: trust the operator that devices resolve it
        return False
