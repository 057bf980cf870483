"""Versioned schema migrations for SQLite and PostgreSQL: numbered steps, a version table.

Each component (alerts, registry, accounts, …) has its own numbered steps per dialect,
`NNNN_what.sql` files in `migrations/<component>/<dialect>/` beside this module, plus steps
written in Python where SQL cannot say it (SQLite has no ADD COLUMN IF NOT EXISTS). `schema_version`
records which steps ran, per component, so one PostgreSQL database holds every component's
tables and each SQLite file its own.

A database made before versioning has tables and no `schema_version`: its first step of
each component is that component's schema as it stood then, written idempotently
(CREATE … IF NOT EXISTS), so adopting an existing file changes nothing in it.

Steps run in one transaction with their version rows, under a lock (SQLite's write lock,
a PostgreSQL advisory lock), so two processes opening the same database at once apply each
step exactly once.
"""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Callable, Sequence
from importlib import resources
from typing import Any, Literal

import msgspec

Dialect = Literal["sqlite", "postgres"]
_STEP_FILE = re.compile(r"^(\d{4})_([\w-]+)\.sql$")
# Any constant: the key of the advisory lock every migrating process takes.
SCHEMA_LOCK = 0x56425348


class Migration(msgspec.Struct, frozen=True):
    version: int
    name: str
    run: Callable[[Any], None]


class Schema(msgspec.Struct, frozen=True):
    """A component's steps for one dialect."""

    component: str
    steps: list[Migration]


class MigrationError(RuntimeError):
    """The database is newer than this program, or a step failed; the message says which."""


def sql_steps(component: str, dialect: Dialect) -> list[Migration]:
    """The component's numbered SQL files for the dialect, in order."""
    folder = resources.files(__package__ or "") / "migrations" / component / dialect
    steps = []
    for entry in folder.iterdir():
        found = _STEP_FILE.match(entry.name)
        if found:
            sql = entry.read_text(encoding="utf-8")
            steps.append(Migration(int(found[1]), found[2], _script(sql, dialect)))
    return sorted(steps, key=lambda m: m.version)


def _script(sql: str, dialect: Dialect) -> Callable[[Any], None]:
    if dialect == "postgres":
        return lambda conn: conn.execute(sql)
    # One statement at a time: executescript would commit the step's transaction first.
    statements = _sqlite_statements(sql)

    def run(conn: sqlite3.Connection) -> None:
        for statement in statements:
            conn.execute(statement)

    return run


def _sqlite_statements(sql: str) -> list[str]:
    statements, pending = [], ""
    for line in sql.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            statements.append(pending.strip())
            pending = ""
    if pending.strip() and not all(
        part.strip().startswith("--") or not part.strip() for part in pending.splitlines()
    ):
        raise MigrationError(f"an unfinished statement at the end of a step: {pending.strip()}")
    return statements


def _check(component: str, steps: Sequence[Migration]) -> None:
    versions = [m.version for m in steps]
    if versions != list(range(1, len(versions) + 1)):
        raise MigrationError(f"{component}: steps must be numbered 1, 2, 3…: {versions}")


_VERSION_TABLE = """CREATE TABLE IF NOT EXISTS schema_version (
    component TEXT NOT NULL,
    version INTEGER NOT NULL,
    name TEXT NOT NULL,
    applied_ms BIGINT NOT NULL,
    PRIMARY KEY (component, version)
)"""


def migrate_sqlite(conn: sqlite3.Connection, component: str, steps: Sequence[Migration]) -> int:
    """Bring an SQLite database (a connection in autocommit mode) up to the last step;
    the version it is at afterwards."""
    _check(component, steps)
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute(_VERSION_TABLE)
        at = _current(conn, component, "?")
        for step in _pending(component, steps, at):
            step.run(conn)
            conn.execute(
                "INSERT INTO schema_version VALUES (?, ?, ?, ?)",
                (component, step.version, step.name, int(time.time() * 1000)),
            )
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    return max(at, len(steps))


def migrate_postgres(conn: Any, component: str, steps: Sequence[Migration]) -> int:
    """Bring a PostgreSQL database up to the last step (`conn`: a psycopg connection not in
    a transaction); the version it is at afterwards."""
    _check(component, steps)
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
        conn.execute(_VERSION_TABLE)
        at = _current(conn, component, "%s")
        for step in _pending(component, steps, at):
            step.run(conn)
            conn.execute(
                "INSERT INTO schema_version VALUES (%s, %s, %s, %s)",
                (component, step.version, step.name, int(time.time() * 1000)),
            )
    return max(at, len(steps))


def _current(conn: Any, component: str, mark: str) -> int:
    row = conn.execute(
        f"SELECT coalesce(max(version), 0) FROM schema_version WHERE component = {mark}",
        (component,),
    ).fetchone()
    return int(row[0])


def _pending(component: str, steps: Sequence[Migration], at: int) -> list[Migration]:
    if at > len(steps):
        raise MigrationError(
            f"{component}: the database is at version {at}, this program knows {len(steps)}: "
            "it was opened by a newer release"
        )
    return list(steps[at:])
