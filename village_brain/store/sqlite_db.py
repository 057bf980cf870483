"""Opening SQLite databases the way every embedded store here needs them."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def connect(path: Path, synchronous: str = "full") -> sqlite3.Connection:
    """A connection in WAL mode: readers never block the single writer, and vice versa."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
    conn.execute("PRAGMA journal_mode=WAL")
    # FULL syncs the WAL at every commit, so an acknowledged batch survives a power cut too.
    conn.execute(f"PRAGMA synchronous={synchronous.upper()}")
    conn.execute("PRAGMA foreign_keys=ON")
    return conn


READER_CACHE_KIB = 512


class Database:
    """One writer connection (the ingest writer's thread) and a reader connection per thread."""

    def __init__(self, path: Path, schema: str, synchronous: str = "full") -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._synchronous = synchronous
        self._writer = connect(path, synchronous)
        self._writer.executescript(schema)
        self._write_lock = threading.Lock()
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with self._write_lock:
            self._writer.execute("BEGIN IMMEDIATE")
            try:
                yield self._writer
            except BaseException:
                self._writer.execute("ROLLBACK")
                raise
            self._writer.execute("COMMIT")

    def reader(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = connect(self.path, self._synchronous)
            conn.execute("PRAGMA query_only=ON")
            # Every request thread keeps its own reader, and each reader's page cache (2 MB
            # by default) filled up with a fleet's worth of rows: with a threadpool of 40
            # that alone was over 100 MB. The operating system caches the file for all of
            # them, so a small cache of their own costs reads little.
            conn.execute(f"PRAGMA cache_size=-{READER_CACHE_KIB}")
            self._local.conn = conn
            self._readers.append(conn)
        return conn

    def close(self) -> None:
        for conn in self._readers:
            conn.close()
        self._writer.close()
