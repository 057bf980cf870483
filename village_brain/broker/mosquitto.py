"""Run Mosquitto as a child process: start, stop, and restart on the same port and data."""

from __future__ import annotations

import ctypes
import getpass
import logging
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import IO

from village_brain.broker.ports import connectable_host, wait_until_accepting
from village_brain.broker.settings import (
    Setting,
    load_recommended_settings,
    render_embedded_config,
)
from village_brain.core.hostport import join_host_port

logger = logging.getLogger(__name__)

# Debian and Ubuntu install the broker outside a normal user's PATH.
_SBIN_CANDIDATES = (Path("/usr/sbin/mosquitto"), Path("/usr/local/sbin/mosquitto"))
_LOG_TAIL_LINES = 20


def _stop_with_parent() -> None:
    """Runs in the child before exec: if our process dies without stopping it, so does it."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


_PR_SET_PDEATHSIG = 1


class MosquittoError(RuntimeError):
    """Mosquitto could not be started."""


def find_mosquitto() -> Path | None:
    found = shutil.which("mosquitto")
    if found:
        return Path(found)
    return next((path for path in _SBIN_CANDIDATES if path.is_file()), None)


class MosquittoProcess:
    """One Mosquitto child process bound to host:port with its files in `state_dir`.

    `state_dir` holds the generated config, the log and the persistence
    database, so stopping and starting again resumes the same sessions.
    """

    def __init__(
        self,
        state_dir: Path,
        host: str,
        port: int,
        binary: Path | None = None,
        settings: list[Setting] | None = None,
    ) -> None:
        resolved = binary or find_mosquitto()
        if resolved is None:
            raise MosquittoError("no mosquitto binary found on PATH or in /usr/sbin")
        self.binary = resolved
        self.state_dir = state_dir
        self.host = host
        self.port = port
        self._settings = settings if settings is not None else load_recommended_settings()
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def url(self) -> str:
        """Where clients on this machine reach it (listening on 0.0.0.0 is reached on 127.0.0.1)."""
        return f"mqtt://{join_host_port(connectable_host(self.host), self.port)}"

    @property
    def config_path(self) -> Path:
        return self.state_dir / "mosquitto.conf"

    @property
    def log_path(self) -> Path:
        return self.state_dir / "mosquitto.log"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self, timeout: float = 10.0) -> None:
        if self.running:
            return
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(
            render_embedded_config(
                self._settings, self.host, self.port, self.state_dir, getpass.getuser()
            ),
            encoding="utf-8",
        )
        self._log = self.log_path.open("ab")
        process = subprocess.Popen(
            [str(self.binary), "-c", str(self.config_path)],
            # Its own session keeps a terminal's Ctrl-C from stopping the broker before ingest
            # has acknowledged what it holds; we stop it ourselves, last.
            start_new_session=True,
            preexec_fn=_stop_with_parent,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        self._process = process
        accepting = wait_until_accepting(
            self.host, self.port, timeout, still_starting=lambda: process.poll() is None
        )
        if not accepting or process.poll() is not None:
            self.stop()
            raise MosquittoError(
                f"mosquitto did not start on {self.host}:{self.port} "
                f"(exit code {process.returncode}); last log lines:\n{self.log_tail()}"
            )
        where = join_host_port(self.host, self.port)
        logger.info("mosquitto %s listening on %s (pid %d)", self.binary, where, process.pid)

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM lets Mosquitto write its persistence database; kill only if it hangs."""
        process = self._process
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                logger.warning("mosquitto (pid %d) ignored SIGTERM; killing it", process.pid)
                process.kill()
                process.wait()
        self._process = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def restart(self, timeout: float = 10.0) -> None:
        self.stop(timeout)
        self.start(timeout)

    def log_tail(self, lines: int = _LOG_TAIL_LINES) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return "(no log written)"
        return "\n".join(text.splitlines()[-lines:])
