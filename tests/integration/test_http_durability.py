"""HTTP ingest's 2xx-after-commit promise, tested by killing `village-brain serve` (kill -9)
while a request waits for its commit, then starting it again on the same data."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import httpx
import pytest

from village_brain.core.timefmt import now_ms

from support.serve_process import ServeProcess, stored_points
from support.waiting import wait_until

pytestmark = pytest.mark.integration


@pytest.fixture
def serve(mosquitto, tmp_path: Path) -> Iterator[ServeProcess]:
    process = ServeProcess(
        mosquitto.url, tmp_path / "data", tmp_path / "serve.log", f"http-{time.monotonic_ns()}"
    )
    # Longer than the test holds the store, so the request is waiting when serve is killed.
    process.env["VILLAGE_BRAIN_INGEST__HTTP_WAIT"] = "5m"
    yield process
    process.kill()


def gateway_token(data_dir: Path) -> str:
    command = [sys.executable, "-m", "village_brain.cli", "device-tokens", "add"]
    done = subprocess.run(
        [*command, "--gateway", "xiashan", "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def post(serve: ServeProcess, token: str, body: str) -> httpx.Response:
    return httpx.post(
        f"{serve.url}/api/v1/ingest/xiashan/g1/telemetry",
        content=body,
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    )


def pending(serve: ServeProcess) -> int:
    return httpx.get(serve.url + "/healthz", timeout=5).json()["pending_messages"]


def test_a_reading_answered_2xx_is_stored_after_a_kill(serve: ServeProcess):
    token = gateway_token(serve.data_dir)
    serve.start()
    response = post(serve, token, json.dumps({"ts": now_ms(), "values": {"water_level": 1.0}}))
    assert response.status_code == 200, response.text
    serve.kill()
    assert stored_points(serve.data_dir) == 1
    serve.start()
    assert stored_points(serve.data_dir) == 1


def test_a_request_killed_before_its_commit_got_no_answer_and_may_be_retried(
    serve: ServeProcess,
):
    token = gateway_token(serve.data_dir)
    serve.start()
    body = json.dumps({"ts": now_ms(), "values": {"water_level": 2.0}})
    answers: list[httpx.Response | Exception] = []
    with closing(sqlite3.connect(serve.data_dir / "series.sqlite3", timeout=30)) as lock:
        lock.execute("BEGIN IMMEDIATE")  # the writer cannot commit while this is held
        waiting = threading.Thread(target=lambda: answers.append(_try(post, serve, token, body)))
        waiting.start()
        wait_until(lambda: pending(serve) == 1, what="the post to wait for its commit")
        assert answers == []  # waiting, not answered
        serve.kill()
        waiting.join(timeout=30)
        lock.rollback()
    assert len(answers) == 1 and isinstance(answers[0], httpx.TransportError)
    assert stored_points(serve.data_dir) == 0
    serve.start()
    for _ in range(2):  # the retry, and a retry of the retry: a repeat is stored once
        assert post(serve, token, body).status_code == 200
    assert stored_points(serve.data_dir) == 1


def _try(call, *args) -> httpx.Response | Exception:  # type: ignore[no-untyped-def]
    try:
        return call(*args)
    except Exception as exc:
        return exc
