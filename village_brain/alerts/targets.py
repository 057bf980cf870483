"""Where webhooks may go: never, unless allowed, to the server's own network.

Checked when a webhook is created, and on every connection a delivery opens (see
transport.py): the connection goes to the very address that was checked, so a name that is
made to point somewhere else after the check (DNS rebinding) gains nothing.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from urllib.parse import SplitResult, urlsplit

Resolver = Callable[[str, int], list[str]]
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# IPv6 forms that carry an IPv4 address in their last 32 bits: the deprecated IPv4-compatible
# form (::a.b.c.d), IPv4-translated (::ffff:0:a.b.c.d) and NAT64's well-known prefix, which a
# NAT64 gateway turns into a connection to that IPv4 address.
_LOW_32_EMBEDS = tuple(
    ipaddress.IPv6Network(n) for n in ("::/96", "::ffff:0:0:0/96", "64:ff9b::/96")
)
# Never public whatever they embed: NAT64 for local use (RFC 8215) and the old site-locals.
_NEVER_PUBLIC = tuple(ipaddress.IPv6Network(n) for n in ("64:ff9b:1::/48", "fec0::/10"))


class TargetRefused(ValueError):
    """A webhook URL that must not be called; the message says why."""


def resolve(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def check_url(url: str) -> SplitResult:
    """The URL's parts, if it is one we may call at all. Messages never repeat the URL: it may
    carry a robot's key."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises for a port out of range
    except ValueError as exc:
        raise TargetRefused(f"the webhook URL is not usable: {exc}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TargetRefused("the webhook URL is not an http:// or https:// URL with a host")
    return parts


def check_target(url: str, allow_private: bool, resolver: Resolver = resolve) -> None:
    """Refuse a URL that is not http(s), or whose host is not (only) public addresses."""
    parts = check_url(url)
    if not allow_private:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        checked_addresses(parts.hostname or "", port, allow_private, resolver)


def checked_addresses(
    host: str, port: int, allow_private: bool, resolver: Resolver = resolve
) -> list[str]:
    """The addresses of `host`, each allowed; refuses the host if any is not."""
    try:
        addresses = resolver(host, port)
    except OSError as exc:
        raise TargetRefused(f"cannot resolve {host!r}: {exc}") from None
    if not addresses:
        raise TargetRefused(f"{host!r} resolves to no address")
    if allow_private:
        return addresses
    for text in addresses:
        if not public(ipaddress.ip_address(text.split("%")[0])):
            raise TargetRefused(
                f"{host!r} resolves to {text}, a private, loopback or link-local "
                "address; an admin may allow it for this channel (allow_private), or "
                "alerts.allow_private_targets for every channel"
            )
    return addresses


def public(address: IPAddress) -> bool:
    """Whether the address, and every IPv4 address it carries, is on the public internet."""
    if isinstance(address, ipaddress.IPv6Address):
        if any(address in network for network in _NEVER_PUBLIC):
            return False
        if not all(public(inner) for inner in embedded_ipv4(address)):
            return False
    return address.is_global and not address.is_multicast


def embedded_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """IPv4 addresses an IPv6 address leads to: mapped, compatible, NAT64, 6to4, Teredo."""
    found = []
    if address.ipv4_mapped is not None:
        found.append(address.ipv4_mapped)
    if any(address in network for network in _LOW_32_EMBEDS):
        found.append(ipaddress.IPv4Address(int(address) & 0xFFFF_FFFF))
    if address.sixtofour is not None:
        found.append(address.sixtofour)
    if address.teredo is not None:
        found.extend(address.teredo)
    return found
