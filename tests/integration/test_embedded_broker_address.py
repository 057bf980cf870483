"""Devices are set up with one broker address, so `serve` keeps to the one it was given.

A port in use stops serve with a message naming the port, what holds it and the fix; only the
demo, whose devices are simulated, moves to a free port, and says which.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.waiting import wait_until

pytestmark = pytest.mark.integration


@pytest.fixture
def held_port() -> Iterator[int]:
    """A port this test process listens on, as a system broker would."""
    with socket.socket() as occupant:
        occupant.bind(("127.0.0.1", 0))
        occupant.listen()
        yield occupant.getsockname()[1]


def serve_command(tmp_path: Path, mqtt_listen: str, *extra: str) -> list[str]:
    return [
        *(sys.executable, "-m", "village_brain.cli", "serve", *extra),
        *("--mqtt-listen", mqtt_listen, "--data-dir", str(tmp_path / "data")),
        # Port 0: the system picks a free one as serve binds it, so no other process can take
        # it first (a port chosen beforehand once made serve exit 2 here).
        *("--http", "127.0.0.1:0"),
    ]


def test_serve_on_a_taken_broker_port_stops_naming_the_port_its_holder_and_the_fix(
    tmp_path: Path, held_port: int
) -> None:
    result = subprocess.run(
        serve_command(tmp_path, f"127.0.0.1:{held_port}"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2, result.stderr
    assert f"cannot listen on 127.0.0.1:{held_port}" in result.stderr
    assert f"port {held_port} is in use by " in result.stderr
    assert f"(pid {os.getpid()})" in result.stderr
    assert "--mqtt-listen HOST:PORT (setting mqtt.listen)" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_demo_on_a_taken_broker_port_moves_to_a_free_one_and_logs_it(
    tmp_path: Path, held_port: int
) -> None:
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            serve_command(tmp_path, f"127.0.0.1:{held_port}", "--demo"),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        moved = wait_until(
            lambda: re.search(r"listens on port (\d+) instead", log.read_text("utf-8")),
            timeout=30,
            what="the demo's broker to move",
        )
        port = int(moved.group(1))
        wait_until(lambda: "receiving" in log.read_text("utf-8"), timeout=30, what="ingest")
        text = log.read_text("utf-8")
        assert f"port {held_port} on 127.0.0.1 is in use" in text
        assert port != held_port
        assert re.search(rf"devices: .*mqtt://127\.0\.0\.1:{port}\b", text), text
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            pass
    finally:
        process.send_signal(signal.SIGTERM)
        status = process.wait(timeout=30)
    assert status == 0, log.read_text("utf-8")
