"""One server per data directory: a second start refuses, and leaves the first one's accounts
alone (a second `serve --demo` once replaced the running demo's password, and a second plain
start deleted its demo account)."""

from __future__ import annotations

import sqlite3
import subprocess
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from village_brain.core.datadir_lock import DataDirBusy, DataDirLock

from support.serve_process import ServeProcess

pytestmark = pytest.mark.integration


@pytest.fixture
def demo(mosquitto, tmp_path: Path) -> Iterator[ServeProcess]:
    process = ServeProcess(
        mosquitto.url, tmp_path / "data", tmp_path / "serve.log", f"lock-{time.monotonic_ns()}"
    )
    process.start("--demo", "--devices", "4")
    yield process
    process.kill()


def accounts(data_dir: Path) -> dict[str, str]:
    """Account name → password hash, read beside the running server."""
    with closing(sqlite3.connect(data_dir / "accounts.sqlite3")) as conn:
        return dict(conn.execute("SELECT name, password_hash FROM users").fetchall())


def second_start(demo: ServeProcess, *extra: str) -> subprocess.CompletedProcess[str]:
    env = {**demo.env, "VILLAGE_BRAIN_MQTT__CLIENT_ID": f"second-{time.monotonic_ns()}"}
    return subprocess.run(demo.command(*extra), env=env, capture_output=True, text=True, timeout=60)


def test_a_second_demo_on_the_same_data_directory_refuses_and_keeps_the_demo_password(
    demo: ServeProcess,
) -> None:
    before = accounts(demo.data_dir)
    assert "demo" in before
    result = second_start(demo, "--demo")
    assert result.returncode == 2, result.stderr
    assert "already using the data directory" in result.stderr
    assert f"(pid {demo.process.pid})" in result.stderr
    assert "Traceback" not in result.stderr
    assert "demo: anyone may look" not in result.stdout  # no new password was made
    assert accounts(demo.data_dir) == before


def test_a_plain_second_start_refuses_and_keeps_the_running_demo_account(
    demo: ServeProcess,
) -> None:
    before = accounts(demo.data_dir)
    result = second_start(demo)
    assert result.returncode == 2, result.stderr
    assert "already using the data directory" in result.stderr
    assert accounts(demo.data_dir) == before
    assert demo.process.poll() is None


def test_the_lock_is_free_again_once_its_holder_is_gone(tmp_path: Path) -> None:
    first = DataDirLock(tmp_path).acquire()
    with pytest.raises(DataDirBusy, match="already using the data directory"):
        DataDirLock(tmp_path).acquire()
    first.release()
    DataDirLock(tmp_path).acquire().release()


def test_a_killed_server_leaves_no_stale_lock(demo: ServeProcess) -> None:
    demo.kill()  # SIGKILL: no chance to clean up
    DataDirLock(demo.data_dir).acquire().release()


def test_a_lock_file_that_cannot_be_opened_is_named_with_the_fix(tmp_path: Path) -> None:
    (tmp_path / "village-brain.lock").mkdir()  # something that is no file stands in its way
    with pytest.raises(DataDirBusy, match=r"cannot open the lock file .*village-brain\.lock"):
        DataDirLock(tmp_path).acquire()
