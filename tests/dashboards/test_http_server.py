"""Stopping the HTTP server: a live client that stopped reading cannot hold it up."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from integration.harness import make_service
from live_server import stalled_live_client

from village_brain.api.app import create_app
from village_brain.broker.ports import pick_free_port
from village_brain.serving import HttpServer

from support.waiting import wait_until

pytestmark = pytest.mark.integration

GRACE_S = 1.0


class Collected(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextmanager
def uvicorn_log() -> Iterator[list[logging.LogRecord]]:
    """What uvicorn logs: its loggers do not propagate to the root, where caplog listens,
    and each new server configures them afresh, so this comes after the server is made."""
    handler = Collected()
    logger = logging.getLogger("uvicorn.error")
    logger.addHandler(handler)
    try:
        yield handler.records
    finally:
        logger.removeHandler(handler)


def committed_batch(number: int) -> dict[str, list[dict[str, object]]]:
    return {"readings": [{"device": "gauge-1", "ts_ms": number * 1_000 + i} for i in range(1_000)]}


def test_a_client_that_stopped_reading_is_cut_off_once_the_grace_period_is_over(
    mosquitto, tmp_path
) -> None:
    service = make_service(mosquitto.url, tmp_path / "data", f"grace-{time.monotonic_ns()}")
    service.start()
    app = create_app(service.api_context())
    port = pick_free_port("127.0.0.1")
    server = HttpServer(app, "127.0.0.1", port, grace_s=GRACE_S)
    server.start()
    hub = app.state.live_hub
    published = iter(range(1_000_000))
    try:
        with uvicorn_log() as logged, stalled_live_client(f"http://127.0.0.1:{port}"):
            wait_until(lambda: hub.client_count == 1, what="the live client to be fed")

            def backed_up() -> bool:
                service.bus.publish("readings", committed_batch(next(published)))
                # A stream that still writes takes its whole buffer at every wake-up.
                return hub.buffered_bytes > hub.budget_bytes // 2

            wait_until(backed_up, timeout=60, what="the stream to wait on its client")
            started = time.monotonic()
            server.stop()
            took = time.monotonic() - started
    finally:
        service.stop()
    assert took < GRACE_S + 5
    assert [r.getMessage() for r in logged if r.exc_info] == []
    assert any("Cancel 1 running task" in r.getMessage() for r in logged)
