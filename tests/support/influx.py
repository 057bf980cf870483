"""Private InfluxDB 1.x servers for tests, and the child-process handling they share.

Each server has its own free port, its own temporary data directories and a config file
of its own: a system-wide InfluxDB, running or not, is never used. The package comes from
Debian (`influxdb`, 1.6.x), installed on first use when missing.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import IO, TypeVar

import httpx

from support.ports import free_port

T = TypeVar("T")


class ServerUnavailable(RuntimeError):
    """A test server could not be installed or started here."""


def ensure_package(binary: str, package: str) -> Path:
    """The binary's path, installing Debian's package first when it is missing."""
    found = shutil.which(binary)
    if found:
        return Path(found)
    if os.geteuid() != 0:
        raise ServerUnavailable(f"these tests need {binary}: sudo apt-get install -y {package}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "--no-install-recommends", package]
    if subprocess.run(install, env=env, check=False).returncode != 0:
        # A fresh image often has no package lists yet.
        subprocess.run(["apt-get", "update"], env=env, check=True)
        subprocess.run(install, env=env, check=True)
    found = shutil.which(binary)
    if not found:
        raise ServerUnavailable(f"apt-get installed {package} but {binary} is not on PATH")
    return Path(found)


class ServerProcess:
    """A server child process that answers HTTP on 127.0.0.1 at a fixed port across restarts."""

    ready_path = "/ping"

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self.host = "127.0.0.1"
        self.port = free_port(self.host)
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.state_dir / "server.log"

    def command(self) -> list[str]:
        raise NotImplementedError

    def start(self, timeout: float = 20.0) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("ab")
        self._process = subprocess.Popen(
            self.command(), stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                break
            if self._answers():
                return
            time.sleep(0.05)
        self.stop()
        tail = self.log_path.read_text(errors="replace")[-2000:]
        raise ServerUnavailable(f"{self.command()[0]} did not start on {self.url}:\n{tail}")

    def _answers(self) -> bool:
        try:
            return httpx.get(self.url + self.ready_path, timeout=1).status_code < 300
        except httpx.TransportError:
            return False

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGCONT)  # a paused process cannot act on SIGTERM
            process.terminate()
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._log is not None:
            self._log.close()
            self._log = None

    def pause(self) -> None:
        """Freeze the server: connections are accepted by the kernel but never answered."""
        assert self._process is not None
        self._process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self._process is not None
        self._process.send_signal(signal.SIGCONT)


INFLUXD_CONFIG = """\
reporting-disabled = true
bind-address = "127.0.0.1:{rpc_port}"

[meta]
  dir = "{root}/meta"

[data]
  dir = "{root}/data"
  wal-dir = "{root}/wal"
  query-log-enabled = false

[http]
  bind-address = "127.0.0.1:{port}"
  log-enabled = false

[logging]
  level = "warn"

[monitor]
  store-enabled = false

[continuous_queries]
  enabled = false

[subscriber]
  enabled = false
"""


class InfluxServer(ServerProcess):
    """influxd 1.x; `query` runs an InfluxQL statement, `create_database` makes a fresh one."""

    def __init__(self, state_dir: Path) -> None:
        super().__init__(state_dir)
        self.binary = ensure_package("influxd", "influxdb")
        self.config_path = state_dir / "influxd.conf"
        state_dir.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(
            INFLUXD_CONFIG.format(root=state_dir, port=self.port, rpc_port=free_port(self.host)),
            encoding="utf-8",
        )

    def command(self) -> list[str]:
        return [str(self.binary), "run", "-config", str(self.config_path)]

    def query(self, statement: str, database: str | None = None) -> list[dict]:
        params = {"q": statement, "epoch": "ms", **({"db": database} if database else {})}
        response = httpx.post(self.url + "/query", params=params, timeout=10)
        response.raise_for_status()
        result = response.json()["results"][0]
        assert "error" not in result, result["error"]
        return result.get("series", [])

    def create_database(self, name: str) -> str:
        self.query(f'CREATE DATABASE "{name}"')
        return name

    def write_lines(self, database: str, body: str) -> httpx.Response:
        return httpx.post(
            self.url + "/write", params={"db": database, "precision": "ms"}, content=body
        )


def start_influx(state_dir: Path) -> InfluxServer:
    server = InfluxServer(state_dir)
    server.start()
    return server
