"""`village-brain serve` as a child process, run the way an operator runs it.

It listens on `--http 127.0.0.1:0` and the URL is read from its log, so no other process can
take the port between choosing it and serve binding it.
"""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import httpx

from support.waiting import wait_until

# `serve --role ingest` answers only /healthz and says so.
LISTENING = re.compile(rb"(?:API and dashboard|/healthz only) on (http://\S+)")


def logged_url(log: bytes) -> str | None:
    """The URL serve logged it listens on, when it has."""
    found = LISTENING.search(log)
    return found.group(1).decode() if found else None


class ServeProcess:
    """One data dir and log, on a private broker; start() again after a stop to restart."""

    def __init__(
        self, mqtt_url: str, data_dir: Path, log: Path, client_id: str, anyone_views: bool = True
    ) -> None:
        self.mqtt_url, self.data_dir, self.log = mqtt_url, data_dir, log
        self.env = {
            **os.environ,
            "VILLAGE_BRAIN_MQTT__CLIENT_ID": client_id,
            # Most tests read the live feed without logging in.
            "VILLAGE_BRAIN_AUTH__ANONYMOUS_VIEW": "true" if anyone_views else "false",
        }
        self.url = ""
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, *extra: str) -> None:
        self.url = ""
        self._logged_before = self.log.stat().st_size if self.log.exists() else 0
        command = self.command(*extra)
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                command, env=self.env, stdout=out, stderr=subprocess.STDOUT
            )
        wait_until(self._ready, timeout=30, what="serve to receive and answer HTTP")

    def command(self, *extra: str) -> list[str]:
        """The command line of another serve on the same broker and data directory."""
        return [
            *(sys.executable, "-m", "village_brain.cli", "serve"),
            *("--mqtt-url", self.mqtt_url, "--data-dir", str(self.data_dir)),
            *("--http", "127.0.0.1:0", *extra),
        ]

    def log_text(self) -> str:
        return self.log.read_text("utf-8", errors="replace")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def _ready(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(f"serve exited with {self.process.returncode}:\n{self.log_text()}")
        logged = self.log.read_bytes()[self._logged_before :]
        self.url = logged_url(logged) or ""
        if b"receiving" not in logged or not self.url:
            return False
        try:
            return httpx.get(self.url + "/healthz", timeout=2).status_code == 200
        except httpx.TransportError:
            return False


def stored_points(data_dir: Path) -> int:
    path = data_dir / "series.sqlite3"
    if not path.exists():
        return 0
    with closing(sqlite3.connect(path)) as conn:
        return conn.execute("SELECT count(*) FROM points").fetchone()[0]
