"""Opening SQLite databases the way every embedded store here needs them."""

from __future__ import annotations

import sqlite3
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from village_brain.store.migrate import Schema, migrate_sqlite


def connect(path: Path, synchronous: str = "full") -> sqlite3.Connection:
    """A connection in WAL mode: readers never block the single writer, and vice versa."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
    conn.execute("PRAGMA journal_mode=WAL")
    # FULL syncs the WAL at every commit, so an acknowledged batch survives a power cut too.
    conn.execute(f"PRAGMA synchronous={synchronous.upper()}")
    conn.execute("PRAGMA foreign_keys=ON")
    return conn


READER_CACHE_KIB = 512
# Readers kept open for threads yet to come once their threads have ended.
IDLE_READERS = 4


class _Lease:
    """A thread's hold on a reader connection; the connection goes back when the thread ends.

    It lives in the thread's `threading.local`, which drops it when the thread ends: request
    threads come and go (a thread pool retires idle workers, each test client request starts
    a new one), and a reader kept for every thread that ever read was never closed.
    """

    def __init__(self, db: Database, conn: sqlite3.Connection) -> None:
        self.conn = conn
        # Only a weak reference to the database, which stays free to go when unused.
        weakref.finalize(self, _give_back, weakref.ref(db), conn)


def _give_back(db: weakref.ref[Database], conn: sqlite3.Connection) -> None:
    found = db()
    if found is None:
        conn.close()
    else:
        found._give_back(conn)


class Database:
    """One writer connection (the ingest writer's thread) and a reader connection per live
    thread, reused by later threads once that thread has ended."""

    def __init__(self, path: Path, schema: str | Schema, synchronous: str = "full") -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._synchronous = synchronous
        self._writer = connect(path, synchronous)
        if isinstance(schema, Schema):
            migrate_sqlite(self._writer, schema.component, schema.steps)
        else:
            self._writer.executescript(schema)
        self._write_lock = threading.Lock()
        self._local = threading.local()
        self._pool_lock = threading.Lock()
        self._idle: list[sqlite3.Connection] = []
        self._open: set[sqlite3.Connection] = set()
        self._closed = False

    def ensure(self, *statements: str) -> None:
        """Create what a part of a store adds beside its migrations (`IF NOT EXISTS`)."""
        with self.transaction() as conn:
            for statement in statements:
                conn.execute(statement)

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
        """This thread's reader: use it from this thread only, like any connection here."""
        lease = getattr(self._local, "lease", None)
        if lease is None:
            lease = self._local.lease = _Lease(self, self._take())
        return lease.conn

    def open_readers(self) -> int:
        """Reader connections open now, whether a thread holds them or they wait idle."""
        with self._pool_lock:
            return len(self._open)

    def _take(self) -> sqlite3.Connection:
        with self._pool_lock:
            if self._idle:
                # The most recently used first: its cache is the warmest.
                return self._idle.pop()
        conn = connect(self.path, self._synchronous)
        conn.execute("PRAGMA query_only=ON")
        # Each reader's page cache (2 MB by default) fills up with a fleet's worth of rows:
        # with a thread pool of 40 that alone was over 100 MB. The operating system caches
        # the file for all of them, so a small cache of their own costs reads little.
        conn.execute(f"PRAGMA cache_size=-{READER_CACHE_KIB}")
        with self._pool_lock:
            self._open.add(conn)
        return conn

    def _give_back(self, conn: sqlite3.Connection) -> None:
        # Runs when a thread's lease is dropped, in whichever thread drops it.
        with self._pool_lock:
            if not self._closed and len(self._idle) < IDLE_READERS:
                self._idle.append(conn)
                return
            self._open.discard(conn)
        conn.close()

    def close(self) -> None:
        with self._pool_lock:
            self._closed = True
            readers, self._open, self._idle = list(self._open), set(), []
        for conn in readers:
            conn.close()
        self._writer.close()
