"""The real app served by uvicorn on a free loopback port, in a thread of the test process."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import uvicorn
from fastapi import FastAPI

from village_brain.api.app import create_app
from village_brain.broker.ports import pick_free_port
from village_brain.core.config import DashboardSettings
from village_brain.service import Service


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
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        # Live feeds stay open; do not let them hold up the end of a test run.
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="dashboard-http", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError(f"the HTTP server did not start on port {port}")
        time.sleep(0.02)
    try:
        yield LiveServer(f"http://127.0.0.1:{port}", app)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
