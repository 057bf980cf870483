"""Opening PostgreSQL the way the stores open SQLite: one writer, a reader per thread.

The stores write their SQL once, in the part SQLite and PostgreSQL share (ON CONFLICT
upserts, RETURNING); only the placeholder style differs, and the connections here take the
stores' `?` and `:name` placeholders as they are. Parameters are bound on the client side
(psycopg's ClientCursor), as SQLite binds them, so `:state IS NULL` needs no type cast.
"""

from __future__ import annotations

import re
import threading
import weakref
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from village_brain.store.migrate import SCHEMA_LOCK, Schema, migrate_postgres

if TYPE_CHECKING:
    import psycopg

# A quoted string, a '::' cast, a ? placeholder, a :name placeholder, or a % to escape.
_TOKEN = re.compile(r"'(?:[^']|'')*'|::|\?|(?<![\w:]):([A-Za-z_]\w*)|%")


@lru_cache(maxsize=512)
def placeholders(sql: str) -> str:
    """The statement with SQLite's placeholders in psycopg's style."""

    def swap(found: re.Match[str]) -> str:
        token = found[0]
        if token == "?":
            return "%s"
        if token == "%":
            return "%%"
        if found[1]:
            return f"%({found[1]})s"
        # psycopg reads placeholders inside quotes too: a literal % there is doubled as well.
        return token.replace("%", "%%")

    return _TOKEN.sub(swap, sql)


class Connection:
    """A psycopg connection that speaks to the stores like an sqlite3 one."""

    def __init__(self, raw: psycopg.Connection) -> None:
        self.raw = raw

    def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> psycopg.Cursor:
        return self.raw.cursor().execute(placeholders(sql), params)

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> psycopg.Cursor:
        cursor = self.raw.cursor()
        rows = list(rows)
        if rows:
            cursor.executemany(placeholders(sql), rows)
        return cursor

    def close(self) -> None:
        self.raw.close()


def connect(dsn: str) -> Connection:
    import psycopg  # imported by a PostgreSQL setup only: the driver is 20 MB of memory

    return Connection(psycopg.connect(dsn, autocommit=True, cursor_factory=psycopg.ClientCursor))


# Readers kept open for threads yet to come once their threads have ended.
IDLE_READERS = 4


class _Lease:
    """A thread's hold on a reader; the connection goes back when the thread ends.

    As in sqlite_db: request threads come and go, and a connection kept for every thread
    that ever read would be a server connection each, never closed.
    """

    def __init__(self, db: PostgresDatabase, conn: Connection) -> None:
        self.conn = conn
        weakref.finalize(self, _give_back, weakref.ref(db), conn)


def _give_back(db: weakref.ref[PostgresDatabase], conn: Connection) -> None:
    found = db()
    if found is None:
        conn.close()
    else:
        found._give_back(conn)


class PostgresDatabase:
    """The stores' database on PostgreSQL, shaped like sqlite_db.Database."""

    def __init__(self, dsn: str, schema: Schema) -> None:
        self.dsn = dsn
        self._writer = connect(dsn)
        migrate_postgres(self._writer.raw, schema.component, schema.steps)
        self._write_lock = threading.Lock()
        self._local = threading.local()
        self._readers: list[Connection] = []
        self._idle: list[Connection] = []
        self._readers_lock = threading.Lock()
        self._closed = False

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        with self._write_lock, self._writer.raw.transaction():
            yield self._writer

    def ensure(self, *statements: str) -> None:
        """Create what a part of a store adds beside its migrations (`IF NOT EXISTS`).
        Under the migrations' lock: two workers starting at once on a new database would
        otherwise both create the same table, and one of them fail."""
        with self.transaction() as conn:
            conn.raw.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
            for statement in statements:
                conn.execute(statement)

    def reader(self) -> Connection:
        """This thread's reader (autocommit: each query sees what is committed now)."""
        lease = getattr(self._local, "lease", None)
        if lease is None:
            lease = self._local.lease = _Lease(self, self._take())
        return lease.conn

    def open_readers(self) -> int:
        """Reader connections open now, whether a thread holds them or they wait idle."""
        with self._readers_lock:
            return len(self._readers)

    def _take(self) -> Connection:
        with self._readers_lock:
            if self._idle:
                return self._idle.pop()
        conn = connect(self.dsn)
        with self._readers_lock:
            self._readers.append(conn)
        return conn

    def _give_back(self, conn: Connection) -> None:
        # Runs when a thread's lease is dropped, in whichever thread drops it.
        with self._readers_lock:
            if not self._closed and len(self._idle) < IDLE_READERS and not conn.raw.closed:
                self._idle.append(conn)
                return
            if conn in self._readers:
                self._readers.remove(conn)
        conn.close()

    def close(self) -> None:
        with self._readers_lock:
            self._closed = True
            readers, self._readers, self._idle = self._readers, [], []
        for conn in readers:
            conn.close()
        self._writer.close()
