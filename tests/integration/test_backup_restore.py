"""`village-brain backup DIR` while serve runs and ingest writes, and `restore DIR` after it
stops: every database copied whole and consistent, a restore refused while a server runs."""

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

import pytest

from harness import Publisher
from support.serve_process import ServeProcess, stored_points
from support.waiting import wait_until

pytestmark = pytest.mark.integration

DATABASES = [
    "accounts.sqlite3",
    "alerts.sqlite3",
    "control.sqlite3",
    "registry.sqlite3",
    "reports.sqlite3",
    "series.sqlite3",
]


@pytest.fixture
def serve(mosquitto, tmp_path: Path) -> Iterator[ServeProcess]:
    process = ServeProcess(
        mosquitto.url, tmp_path / "data", tmp_path / "serve.log", f"backup-{time.monotonic_ns()}"
    )
    process.start()
    yield process
    process.kill()


@pytest.fixture
def busy_device(mosquitto) -> Iterator[None]:
    """Publishes readings all through the test, so the backup is taken mid-write."""
    done = threading.Event()
    publisher = Publisher(mosquitto.url)
    start = int(time.time() * 1000) - 600_000

    def run() -> None:
        n = 0
        while not done.wait(0.002):
            payload = json.dumps({"ts": start + n, "values": {"rssi": -70}})
            publisher.publish("village/xiashan/backup-gauge/telemetry", payload)
            n += 1

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    yield
    done.set()
    thread.join(10)
    publisher.close()


def village_brain(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "village_brain.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def points(path: Path) -> int:
    with closing(sqlite3.connect(path)) as conn:
        return conn.execute("SELECT count(*) FROM points").fetchone()[0]


def integrity(path: Path) -> str:
    with closing(sqlite3.connect(path)) as conn:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]


def test_a_backup_taken_while_ingest_writes_holds_every_database_whole(
    serve: ServeProcess, busy_device: None, tmp_path: Path
) -> None:
    wait_until(lambda: stored_points(serve.data_dir) >= 200, timeout=30, what="some readings")
    target = tmp_path / "backup"
    result = village_brain("backup", str(target), "--data-dir", str(serve.data_dir))
    assert result.returncode == 0, result.stderr
    manifest = json.loads((target / "backup.json").read_text("utf-8"))
    assert manifest["files"] == DATABASES
    for name in DATABASES:
        assert integrity(target / name) == "ok", name
        assert not (target / f"{name}-wal").exists()  # each copy stands alone
    copied = points(target / "series.sqlite3")
    assert copied >= 200
    # Ingest went on meanwhile: the server was not stopped or slowed to a halt.
    wait_until(lambda: stored_points(serve.data_dir) > copied, timeout=30, what="more readings")


def test_restore_is_refused_while_a_server_uses_the_data_directory(
    serve: ServeProcess, tmp_path: Path
) -> None:
    target = tmp_path / "backup"
    assert village_brain("backup", str(target), "--data-dir", str(serve.data_dir)).returncode == 0
    result = village_brain("restore", str(target), "--data-dir", str(serve.data_dir))
    assert result.returncode == 2
    assert "cannot restore now" in result.stderr
    assert "already using the data directory" in result.stderr
    assert "Traceback" not in result.stderr
    assert not list(serve.data_dir.glob("before-restore-*"))
    assert serve.process is not None and serve.process.poll() is None


def test_a_restore_brings_back_the_backed_up_readings_and_keeps_what_it_replaced(
    serve: ServeProcess, busy_device: None, tmp_path: Path
) -> None:
    wait_until(lambda: stored_points(serve.data_dir) >= 100, timeout=30, what="some readings")
    target = tmp_path / "backup"
    assert village_brain("backup", str(target), "--data-dir", str(serve.data_dir)).returncode == 0
    backed_up = points(target / "series.sqlite3")
    wait_until(lambda: stored_points(serve.data_dir) > backed_up, what="readings after the backup")
    serve.kill()
    replaced = stored_points(serve.data_dir)
    result = village_brain("restore", str(target), "--data-dir", str(serve.data_dir))
    assert result.returncode == 0, result.stderr
    assert stored_points(serve.data_dir) == backed_up
    (kept,) = serve.data_dir.glob("before-restore-*")
    assert points(kept / "series.sqlite3") == replaced


def test_a_directory_that_is_not_a_backup_is_refused_in_words(tmp_path: Path) -> None:
    result = village_brain("restore", str(tmp_path), "--data-dir", str(tmp_path / "data"))
    assert result.returncode == 2
    assert "is not a backup: it has no backup.json" in result.stderr


def test_a_backup_into_a_directory_in_use_is_refused(serve: ServeProcess, tmp_path: Path) -> None:
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "photo.jpg").write_bytes(b"\xff")
    result = village_brain("backup", str(tmp_path / "full"), "--data-dir", str(serve.data_dir))
    assert result.returncode == 2
    assert "not an empty directory" in result.stderr
