"""The real app served the way `village-brain serve` serves it, on a free loopback port."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from fastapi import FastAPI

from village_brain.api.app import create_app
from village_brain.broker.ports import pick_free_port
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
    port = pick_free_port("127.0.0.1")
    app = create_app(service.api_context(), dashboard)
    server = HttpServer(app, "127.0.0.1", port)
    server.start()
    try:
        yield LiveServer(f"http://127.0.0.1:{port}", app)
    finally:
        server.stop()
