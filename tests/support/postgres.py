"""Private PostgreSQL servers for tests: their own cluster, port and socket directory.

The cluster is made with Debian's PostgreSQL (`postgresql`, installed when missing) by its
own `initdb` on a temporary directory, and started with `pg_ctl` on a free port with its
unix socket inside that directory; a PostgreSQL already running on the machine is never
used. `initdb` refuses to run as root, so under root both run as the package's `postgres`
user. Durability is switched off (fsync, synchronous commit): these clusters hold nothing
worth keeping, and each test gets a database of its own made from a template, which takes
a fraction of a second.
"""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.influx import ServerUnavailable
from support.ports import free_port

SERVER_USER = "postgres"  # the package's own unprivileged account
SUPERUSER = "vb"
TEMPLATE = "vb_template"
SETTINGS = {
    "listen_addresses": "127.0.0.1",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "200",
    "shared_buffers": "32MB",
}


def postgres_bin_dir() -> Path:
    """Where Debian put the newest installed PostgreSQL's server binaries, installing the
    package first when there is none."""
    found = _bin_dirs()
    if not found:
        _install("postgresql")
        found = _bin_dirs()
    if not found:
        raise ServerUnavailable("apt-get installed postgresql but found no initdb")
    return found[-1]


def _bin_dirs() -> list[Path]:
    dirs = Path("/usr/lib/postgresql").glob("*/bin")
    return sorted((d for d in dirs if (d / "initdb").exists()), key=lambda d: int(d.parent.name))


def _install(package: str) -> None:
    if os.geteuid() != 0:
        raise ServerUnavailable(f"these tests need PostgreSQL: sudo apt-get install -y {package}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-q", "--no-install-recommends", package]
    if subprocess.run(install, env=env, check=False).returncode != 0:
        subprocess.run(["apt-get", "update"], env=env, check=True)
        subprocess.run(install, env=env, check=True)


class PostgresServer:
    def __init__(self) -> None:
        self.bin = postgres_bin_dir()
        # Outside pytest's temporary tree: that is private to root, and the server runs
        # as another user.
        self.root = Path(tempfile.mkdtemp(prefix="vb-postgres-"))
        self.data = self.root / "data"
        self.socket_dir = self.root
        self.port = free_port()
        self._as_server: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self.root, SERVER_USER)
            self._as_server = ["runuser", "-u", SERVER_USER, "--"]
        self._names = itertools.count(1)

    @property
    def log_path(self) -> Path:
        return self.root / "server.log"

    def dsn(self, dbname: str = "postgres") -> str:
        return f"host={self.socket_dir} port={self.port} user={SUPERUSER} dbname={dbname}"

    def start(self) -> None:
        if not self.data.exists():
            self._run(
                "initdb",
                *("-D", str(self.data), "-U", SUPERUSER, "--auth=trust", "-E", "UTF8"),
                "--no-locale",
                "--no-sync",
            )
        options = " ".join(f"-c {k}={v}" for k, v in SETTINGS.items())
        options += f" -p {self.port} -k {self.socket_dir}"
        self._run(
            "pg_ctl",
            *("-D", str(self.data), "-l", str(self.log_path), "-o", options),
            *("-w", "-t", "60", "start"),
        )

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def _run(self, tool: str, *args: str) -> None:
        command = [*self._as_server, str(self.bin / tool), *args]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            log = (
                self.log_path.read_text(errors="replace")[-2000:] if self.log_path.exists() else ""
            )
            raise ServerUnavailable(f"{tool} failed: {done.stdout}{done.stderr}{log}")

    # --- databases -----------------------------------------------------------------------

    def execute(self, sql: str, dbname: str = "postgres") -> None:
        import psycopg

        with psycopg.connect(self.dsn(dbname), autocommit=True) as conn:
            conn.execute(sql)

    def make_template(self) -> None:
        self.execute(f"CREATE DATABASE {TEMPLATE}")

    def fresh_database(self) -> str:
        """A new empty database's DSN, copied from the template."""
        name = f"test_{next(self._names)}"
        # A file copy: with fsync off, twice as fast as logging the template's pages.
        self.execute(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE} STRATEGY FILE_COPY")
        return self.dsn(name)

    def drop_database(self, dsn: str) -> None:
        name = dsn.rsplit("dbname=", 1)[1]
        self.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def start_postgres() -> PostgresServer:
    server = PostgresServer()
    try:
        server.start()
        server.make_template()
    except BaseException:
        server.remove()
        raise
    return server


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One private PostgreSQL for the whole run."""
    try:
        server = start_postgres()
    except ServerUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)
    yield server
    server.remove()


@pytest.fixture
def postgres_dsn(postgres_server: PostgresServer) -> Iterator[str]:
    """A database of this test's own on the shared private server."""
    dsn = postgres_server.fresh_database()
    yield dsn
    postgres_server.drop_database(dsn)
