"""The addresses staff open the dashboard at, said in the log at start.

A server listening on every interface (`--http 0.0.0.0:8080`) is reached at this machine's LAN
address, which it reads from the local interfaces as the broker's device line does; one on
loopback is for this machine only, and the line says how to open it to phones on the LAN.
"""

from __future__ import annotations

import ipaddress

from village_brain.broker.device_address import InterfaceAddress, lan_addresses
from village_brain.core.hostport import join_host_port

_WILDCARD_HOSTS = frozenset({"0.0.0.0", "::", ""})


def dashboard_urls(host: str, port: int, addresses: list[InterfaceAddress]) -> list[str]:
    """Where staff open the dashboard, likeliest first."""
    if host in _WILDCARD_HOSTS:
        lan = lan_addresses(addresses)
        return [f"http://{join_host_port(ip, port)}" for ip in lan] or [f"http://127.0.0.1:{port}"]
    return [f"http://{join_host_port(host, port)}"]


def staff_line(host: str, port: int, addresses: list[InterfaceAddress]) -> str:
    """What to tell the operator about reaching the dashboard on host:port."""
    first, *others = dashboard_urls(host, port, addresses)
    also = f" (also {', '.join(others)})" if others else ""
    if host in _WILDCARD_HOSTS and not lan_addresses(addresses):
        return (
            f"staff: open {first} on this machine (it listens on {join_host_port(host, port)}; "
            "no network address was found besides loopback)"
        )
    if _is_loopback(host):
        return (
            f"staff: open {first} on this machine only; for phones and computers on the LAN, "
            f"listen on every interface: --http 0.0.0.0:{port}"
        )
    return f"staff: open {first} in a browser on the village LAN{also}"


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
