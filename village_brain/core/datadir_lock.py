"""One server per data directory: a lock file held with flock for the whole life of `serve`.

Two servers on one data directory would each delete the other's demo account, replace its
demo password and interleave commits. The lock is taken before anything opens a store or an
account, so a second start refuses without touching the first one's files. The kernel drops
an flock when its holder dies, however it dies, so a crash never leaves a stale lock behind;
the pid written inside is only there to name the holder in the message.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from types import TracebackType

from village_brain.core.config import ConfigError

LOCK_FILE = "village-brain.lock"


class DataDirBusy(ConfigError):
    """Another process holds the data directory's lock."""


class DataDirLock:
    """Held from `acquire()` (or `with`) until `release()` or the process ends."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.path = data_dir / LOCK_FILE
        self._fd: int | None = None

    def acquire(self) -> DataDirLock:
        """Take the lock, or raise DataDirBusy naming the holder and the fix."""
        try:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise DataDirBusy(
                f"cannot open the lock file {self.path} ({os.strerror(exc.errno or 0)}); run as "
                "the user the data directory belongs to, or choose another with --data-dir"
            ) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(fd)
            os.close(fd)
            raise DataDirBusy(
                f"another village-brain{holder} is already using the data directory "
                f"{self.data_dir}; stop that one first, or give this one its own --data-dir"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the last descriptor drops the flock
            self._fd = None

    def __enter__(self) -> DataDirLock:
        return self.acquire()

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _traceback: TracebackType | None,
    ) -> None:
        self.release()


def ensure_not_served(data_dir: Path, doing: str) -> DataDirLock:
    """The data directory's lock, held, for a command (`doing`) that must not run beside a
    server; DataDirBusy says to stop the server first."""
    try:
        return DataDirLock(data_dir).acquire()
    except DataDirBusy as exc:
        raise DataDirBusy(f"cannot {doing} now: {exc}") from None


def _read_holder(fd: int) -> str:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return ""
    return f" (pid {text})" if text.isdigit() else ""
