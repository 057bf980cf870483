"""Versioned schema migrations: existing data directories open unchanged, each step runs
once, and a database from a newer release is refused rather than damaged."""

from __future__ import annotations

import sqlite3
import tarfile
import threading
from pathlib import Path

import psycopg
import pytest

from village_brain.alerts.store import AlertStore
from village_brain.auth.accounts import AccountStore
from village_brain.control.store import CommandStore
from village_brain.store.migrate import (
    Migration,
    MigrationError,
    migrate_postgres,
    migrate_sqlite,
    sql_steps,
)
from village_brain.store.registry import RegistryStore

FIXTURES = Path(__file__).parent.parent / "fixtures" / "data_dirs"
STORES = {
    "alerts.sqlite3": AlertStore,
    "registry.sqlite3": RegistryStore,
    "accounts.sqlite3": AccountStore,
    "control.sqlite3": CommandStore,
}


def old_data_dir(tmp_path: Path) -> Path:
    """A data directory written by the release before versioned migrations."""
    with tarfile.open(FIXTURES / "before_migrations.tar.gz") as archive:
        archive.extractall(tmp_path / "data", filter="data")
    return tmp_path / "data"


def tables(path: Path) -> dict[str, str]:
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute("SELECT name, sql FROM sqlite_master WHERE name != 'schema_version'")
        return {name: sql for name, sql in rows if not name.startswith("sqlite_autoindex")}
    finally:
        conn.close()


def versions(path: Path) -> list[tuple[str, int]]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(
            "SELECT component, version FROM schema_version ORDER BY 1, 2"
        ).fetchall()
    finally:
        conn.close()


def open_and_close(path: Path) -> None:
    store = STORES[path.name](path)
    store.db.close()


@pytest.mark.parametrize("name", list(STORES))
def test_a_data_dir_from_before_versioning_opens_with_its_tables_unchanged(tmp_path, name):
    path = old_data_dir(tmp_path) / name
    before = tables(path)
    open_and_close(path)
    assert tables(path) == before
    assert versions(path)[0] == (name.split(".")[0], 1)


def test_the_rows_of_an_old_data_dir_are_read_back(tmp_path):
    data = old_data_dir(tmp_path)
    registry = RegistryStore(data / "registry.sqlite3")
    alerts = AlertStore(data / "alerts.sqlite3")
    accounts = AccountStore(data / "accounts.sqlite3")
    try:
        assert [row.device.id for row in registry.devices()] == ["g1"]
        assert [(a.rule_id, a.state) for a in alerts.open_alerts()] == [("warn", "firing")]
        assert [a.name for a in accounts.accounts()] == ["asha"]
    finally:
        registry.close()
        alerts.close()
        accounts.close()


def test_opening_again_runs_no_step_twice(tmp_path):
    path = tmp_path / "alerts.sqlite3"
    open_and_close(path)
    first = versions(path)
    open_and_close(path)
    assert versions(path) == first == [("alerts", 1), ("alerts", 2)]


def test_a_database_from_a_newer_release_is_refused_unchanged(tmp_path):
    conn = sqlite3.connect(tmp_path / "x.sqlite3", isolation_level=None)
    steps = [Migration(1, "one", lambda c: c.execute("CREATE TABLE one (x)"))]
    later = [*steps, Migration(2, "two", lambda c: c.execute("CREATE TABLE two (x)"))]
    assert migrate_sqlite(conn, "x", later) == 2
    with pytest.raises(MigrationError, match="newer release"):
        migrate_sqlite(conn, "x", steps)


def test_steps_numbered_with_a_gap_are_refused(tmp_path):
    conn = sqlite3.connect(tmp_path / "x.sqlite3", isolation_level=None)
    gap = [Migration(1, "one", lambda c: None), Migration(3, "three", lambda c: None)]
    with pytest.raises(MigrationError, match="numbered"):
        migrate_sqlite(conn, "x", gap)


def test_a_failing_step_leaves_the_database_as_it_was(tmp_path):
    conn = sqlite3.connect(tmp_path / "x.sqlite3", isolation_level=None)
    steps = [
        Migration(1, "one", lambda c: c.execute("CREATE TABLE one (x)")),
        Migration(2, "bad", lambda c: c.execute("CREATE TABLE one (x)")),
    ]
    with pytest.raises(sqlite3.OperationalError):
        migrate_sqlite(conn, "x", steps)
    assert conn.execute("SELECT name FROM sqlite_master WHERE name = 'one'").fetchall() == []


@pytest.mark.integration
def test_postgres_steps_run_once_when_several_processes_open_the_database_together(
    postgres_dsn,
):
    errors: list[BaseException] = []

    def migrate() -> None:
        try:
            with psycopg.connect(postgres_dsn, autocommit=True) as conn:
                migrate_postgres(conn, "alerts", sql_steps("alerts", "postgres"))
        except BaseException as exc:
            errors.append(exc)

    workers = [threading.Thread(target=migrate) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert errors == []
    with psycopg.connect(postgres_dsn) as conn:
        rows = conn.execute("SELECT component, version FROM schema_version").fetchall()
        assert rows == [("alerts", 1)]
        assert conn.execute("SELECT count(*) FROM outbox").fetchone() == (0,)
