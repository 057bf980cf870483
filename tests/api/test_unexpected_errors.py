"""An error no handler expected: a JSON 500, its traceback in the log, the connection kept."""

from __future__ import annotations

import http.client
import logging
import threading
from collections.abc import Iterator

import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

from village_brain.api.errors import UNEXPECTED
from village_brain.broker.ports import pick_free_port

from support.waiting import wait_until


def _fail() -> None:
    raise RuntimeError("the disk is on fire")


@pytest.fixture
def failing_app(app: FastAPI) -> FastAPI:
    app.add_api_route("/api/v1/fails", _fail)
    return app


@pytest.fixture
def live_port(failing_app: FastAPI) -> Iterator[int]:
    port = pick_free_port()
    server = uvicorn.Server(
        uvicorn.Config(failing_app, host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, name="api-http", daemon=True)
    thread.start()
    wait_until(lambda: server.started or not thread.is_alive(), what="the HTTP server")
    assert server.started, "the HTTP server did not start"
    yield port
    server.should_exit = True
    thread.join(timeout=10)


def test_an_unexpected_error_is_a_json_500_with_a_short_message(failing_app) -> None:
    response = TestClient(failing_app).get("/api/v1/fails")
    assert response.status_code == 500
    assert response.json() == {"error": UNEXPECTED}
    assert "disk" not in response.text


def test_an_unexpected_error_is_logged_with_its_traceback(failing_app, caplog) -> None:
    with caplog.at_level(logging.ERROR, logger="village_brain.api.errors"):
        TestClient(failing_app).get("/api/v1/fails")
    [record] = caplog.records
    assert record.getMessage() == "unexpected error answering GET '/api/v1/fails'"
    assert record.exc_info is not None and "the disk is on fire" in str(record.exc_info[1])


def test_the_connection_answers_the_next_request_after_an_unexpected_error(live_port) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", live_port, timeout=10)
    conn.request("GET", "/api/v1/fails")
    first = conn.getresponse()
    assert first.status == 500
    first.read()
    socket_used = conn.sock
    conn.request("GET", "/healthz")
    second = conn.getresponse()
    assert second.status == 200 and conn.sock is socket_used
    conn.close()
