"""The HTTP client deliveries go through: it connects only to addresses it has checked.

Checking a name and then letting the HTTP library resolve it again to connect leaves a gap a
hostile DNS server can use: answer a public address for the check and 127.0.0.1 for the
connection. Here the name is resolved once per connection, every address is checked, and
the socket goes to one of those addresses. Only the TCP connection changes: the request's
Host header, TLS SNI and certificate check still use the name in the URL.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterable

import httpcore
import httpx

from village_brain.alerts.redact import hide_keys_in_http_logs
from village_brain.alerts.targets import Resolver, checked_addresses, resolve

SocketOptions = Iterable[tuple[int, int, int | bytes | None] | tuple[int, int, None, int]]


class CheckedBackend(httpcore.NetworkBackend):
    """httpcore's own sockets, opened to a checked address of the host instead of the name."""

    def __init__(self, allow_private: bool, resolver: Resolver = resolve) -> None:
        self.allow_private = allow_private
        self.resolver = resolver
        self._sockets = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: SocketOptions | None = None,
    ) -> httpcore.NetworkStream:
        # Raises TargetRefused, which the sender reports as the attempt's error.
        addresses = checked_addresses(host, port, self.allow_private, self.resolver)
        failure: Exception | None = None
        for address in addresses:
            try:
                return self._sockets.connect_tcp(
                    address, port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        assert failure is not None
        raise failure

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: SocketOptions | None = None,
    ) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("webhooks are not delivered over Unix sockets")

    def sleep(self, seconds: float) -> None:
        self._sockets.sleep(seconds)


class CheckedTransport(httpx.HTTPTransport):
    """httpx's transport over a `CheckedBackend`, without proxies."""

    def __init__(self, backend: CheckedBackend, verify: ssl.SSLContext | bool = True) -> None:
        # HTTPTransport has no parameter for the network backend: build its connection pool
        # (the one attribute its methods use) the way it does, with ours.
        limits = httpx.Limits()
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(verify=verify, trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=backend,
        )


def delivery_client(
    timeout_s: float,
    allow_private: bool,
    resolver: Resolver = resolve,
    verify: ssl.SSLContext | bool = True,
) -> httpx.Client:
    """The client every delivery attempt uses: checked connections, no redirects, no proxy
    settings from the environment, and no webhook keys in its request log."""
    hide_keys_in_http_logs()
    transport = CheckedTransport(CheckedBackend(allow_private, resolver), verify)
    return httpx.Client(
        transport=transport, timeout=timeout_s, follow_redirects=False, trust_env=False
    )
