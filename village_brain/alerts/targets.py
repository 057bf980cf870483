"""Where webhooks may go: never, unless allowed, to the server's own network.

Checked when a webhook is created and again before every attempt, since a name can come to
point somewhere else after it was accepted.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from urllib.parse import urlsplit

Resolver = Callable[[str, int], list[str]]


class TargetRefused(ValueError):
    """A webhook URL that must not be called; the message says why."""


def resolve(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def check_target(url: str, allow_private: bool, resolver: Resolver = resolve) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TargetRefused(f"{url!r} is not an http:// or https:// URL with a host")
    if allow_private:
        return
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        addresses = resolver(parts.hostname, port)
    except OSError as exc:
        raise TargetRefused(f"cannot resolve {parts.hostname!r}: {exc}") from None
    for text in addresses:
        if not _public(ipaddress.ip_address(text.split("%")[0])):
            raise TargetRefused(
                f"{parts.hostname!r} resolves to {text}, a private, loopback or link-local "
                "address; set alerts.allow_private_targets to allow it"
            )


def _public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast
