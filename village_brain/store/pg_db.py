"""Opening PostgreSQL the way the stores open SQLite: one writer, a reader per thread.

The stores write their SQL once, in the part SQLite and PostgreSQL share (ON CONFLICT
upserts, RETURNING); only the placeholder style differs, and the connections here take the
stores' `?` and `:name` placeholders as they are. Parameters are bound on the client side
(psycopg's ClientCursor), as SQLite binds them, so `:state IS NULL` needs no type cast.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

import psycopg

from village_brain.store.migrate import Schema, migrate_postgres

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
    return Connection(psycopg.connect(dsn, autocommit=True, cursor_factory=psycopg.ClientCursor))


class PostgresDatabase:
    """The stores' database on PostgreSQL, shaped like sqlite_db.Database."""

    def __init__(self, dsn: str, schema: Schema) -> None:
        self.dsn = dsn
        self._writer = connect(dsn)
        migrate_postgres(self._writer.raw, schema.component, schema.steps)
        self._write_lock = threading.Lock()
        self._local = threading.local()
        self._readers: list[Connection] = []
        self._readers_lock = threading.Lock()

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        with self._write_lock, self._writer.raw.transaction():
            yield self._writer

    def reader(self) -> Connection:
        """This thread's reader (autocommit: each query sees what is committed now)."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = connect(self.dsn)
            with self._readers_lock:
                self._readers.append(conn)
        return conn

    def close(self) -> None:
        with self._readers_lock:
            readers, self._readers = self._readers, []
        for conn in readers:
            conn.close()
        self._writer.close()
