"""Accounts, their API tokens and dashboard sessions; only hashes are written.

In SQLite by default; in the shared PostgreSQL database with `[cluster] postgres_dsn`, so
every API process knows the same logins. The column `user` is always written quoted: in
PostgreSQL the bare word is the database user's name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from village_brain.auth.hashing import digest, hash_password, new_secret
from village_brain.auth.roles import Role
from village_brain.store.migrate import Schema, sql_steps
from village_brain.store.pg_db import PostgresDatabase
from village_brain.store.sqlite_db import Database

SQLITE_SCHEMA = Schema("accounts", sql_steps("accounts", "sqlite"))
POSTGRES_SCHEMA = Schema("accounts", sql_steps("accounts", "postgres"))


NAME_PATTERN = r"[\w.@-]{1,64}"
MIN_PASSWORD = 8
TOKEN_PREFIX = "vbt_"
_ROW = "SELECT name, role, created_ms, made_by FROM users"


class AccountError(ValueError):
    """A change that cannot be made; the message says why."""


@dataclass(frozen=True)
class Account:
    name: str
    role: Role
    created_ms: int
    made_by: str


class AccountStore:
    def __init__(
        self, path: Path, synchronous: str = "full", postgres_dsn: str | None = None
    ) -> None:
        if postgres_dsn is not None:
            self.db: Database | PostgresDatabase = PostgresDatabase(postgres_dsn, POSTGRES_SCHEMA)
        else:
            self.db = Database(path, SQLITE_SCHEMA, synchronous)

    def add(self, name: str, role: Role, password: str, now_ms: int, made_by: str = "cli") -> None:
        check_name(name)
        check_password(password)
        with self.db.transaction() as conn:
            if conn.execute("SELECT 1 FROM users WHERE name = ?", (name,)).fetchone():
                raise AccountError(f"there is already an account {name!r}")
            conn.execute(
                "INSERT INTO users VALUES (?, ?, ?, ?, ?)",
                (name, role.value, hash_password(password), now_ms, made_by),
            )

    def set_password(self, name: str, password: str) -> None:
        check_password(password)
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE users SET password_hash = ? WHERE name = ?", (hash_password(password), name)
            )
            # A new password ends every dashboard login made with the old one.
            conn.execute('DELETE FROM sessions WHERE "user" = ?', (name,))

    def set_role(self, name: str, role: Role) -> bool:
        with self.db.transaction() as conn:
            changed = conn.execute(
                "UPDATE users SET role = ? WHERE name = ?", (role.value, name)
            ).rowcount
        return changed > 0

    def close_sessions(self, name: str) -> int:
        """End every dashboard login of the account."""
        with self.db.transaction() as conn:
            return conn.execute('DELETE FROM sessions WHERE "user" = ?', (name,)).rowcount

    def account(self, name: str) -> Account | None:
        row = self.db.reader().execute(f"{_ROW} WHERE name = ?", (name,)).fetchone()
        return _account(row) if row else None

    def accounts(self) -> list[Account]:
        return [_account(row) for row in self.db.reader().execute(f"{_ROW} ORDER BY name")]

    def token_counts(self) -> dict[str, int]:
        rows = self.db.reader().execute('SELECT "user", count(*) FROM tokens GROUP BY "user"')
        return dict(rows.fetchall())

    def password_hash(self, name: str) -> str | None:
        row = (
            self.db.reader()
            .execute("SELECT password_hash FROM users WHERE name = ?", (name,))
            .fetchone()
        )
        return row[0] if row else None

    def remove(self, name: str) -> bool:
        with self.db.transaction() as conn:
            return conn.execute("DELETE FROM users WHERE name = ?", (name,)).rowcount > 0

    def remove_made_by(self, made_by: str) -> int:
        with self.db.transaction() as conn:
            return conn.execute("DELETE FROM users WHERE made_by = ?", (made_by,)).rowcount

    def add_token(self, name: str, now_ms: int) -> str:
        """A new API token for the account: returned this once, kept only as its digest."""
        token = new_secret(TOKEN_PREFIX)
        with self.db.transaction() as conn:
            if not conn.execute("SELECT 1 FROM users WHERE name = ?", (name,)).fetchone():
                raise AccountError(f"there is no account {name!r}")
            conn.execute("INSERT INTO tokens VALUES (?, ?, ?)", (digest(token), name, now_ms))
        return token

    def revoke_tokens(self, name: str) -> int:
        with self.db.transaction() as conn:
            return conn.execute('DELETE FROM tokens WHERE "user" = ?', (name,)).rowcount

    def by_token(self, token: str) -> Account | None:
        row = (
            self.db.reader()
            .execute(
                f'{_ROW} WHERE name = (SELECT "user" FROM tokens WHERE digest = ?)',
                (digest(token),),
            )
            .fetchone()
        )
        return _account(row) if row else None

    def open_session(self, name: str, expires_ms: int, now_ms: int) -> str:
        session = new_secret("")
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM sessions WHERE expires_ms <= ?", (now_ms,))
            conn.execute(
                "INSERT INTO sessions VALUES (?, ?, ?)", (digest(session), name, expires_ms)
            )
        return session

    def by_session(self, session: str, now_ms: int) -> Account | None:
        row = (
            self.db.reader()
            .execute(
                f"{_ROW} WHERE name = "
                '(SELECT "user" FROM sessions WHERE digest = ? AND expires_ms > ?)',
                (digest(session), now_ms),
            )
            .fetchone()
        )
        return _account(row) if row else None

    def close_session(self, session: str) -> None:
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM sessions WHERE digest = ?", (digest(session),))

    def close(self) -> None:
        self.db.close()


def check_name(name: str) -> None:
    if not re.fullmatch(NAME_PATTERN, name):
        raise AccountError(
            f"{name!r} cannot be an account name: use 1 to 64 letters, digits, or . _ @ -"
        )


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"a password needs at least {MIN_PASSWORD} characters")


def _account(row: tuple[str, str, int, str]) -> Account:
    name, role, created_ms, made_by = row
    return Account(name, Role(role), created_ms, made_by)
