"""The real app served the way `village-brain serve` serves it, on a free loopback port."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import urlsplit

from fastapi import FastAPI

from village_brain.api.app import create_app
from village_brain.core.config import DashboardSettings
from village_brain.service import Service
from village_brain.serving import HttpServer


@dataclass(frozen=True)
class LiveServer:
    url: str
    app: FastAPI


@contextmanager
def serve_http(
    service: Service, dashboard: DashboardSettings | None = None
) -> Iterator[LiveServer]:
    """Serve the service's API and dashboard until the block ends."""
    app = create_app(service.api_context(), dashboard)
    # Port 0: the system picks a free port as the server binds it, so nothing can take it first.
    server = HttpServer(app, "127.0.0.1", 0)
    server.start()
    try:
        yield LiveServer(f"http://127.0.0.1:{server.port}", app)
    finally:
        server.stop()


@contextmanager
def stalled_live_client(url: str) -> Iterator[socket.socket]:
    """A client that asks for the live feed and then never reads, like a phone put to sleep."""
    address = urlsplit(url)
    with socket.socket() as client:
        # A small window, so the server soon has to keep what the client does not take.
        client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        client.connect((address.hostname, address.port))
        client.sendall(b"GET /api/v1/live HTTP/1.1\r\nHost: village\r\n\r\n")
        yield client
