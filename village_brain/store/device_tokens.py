"""Device tokens for HTTP ingest: one device's, or a gateway's for a whole village.

They are kept apart from people's accounts and API tokens: a device token can only post
readings, and a person's token cannot. Only the SHA-256 digest of a token is written (a
random 256-bit token cannot be guessed back from it, so a fast digest is enough, and it
keeps the look-up on every request cheap); a lost token is revoked and replaced.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import msgspec

from village_brain.auth.hashing import digest, new_secret
from village_brain.store.sqlite_db import Database

TOKEN_PREFIX = "vbd_"
Kind = Literal["device", "gateway"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS device_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    digest TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL CHECK (kind IN ('device', 'gateway')),
    village TEXT NOT NULL,
    device TEXT,
    issued_ms INTEGER NOT NULL,
    revoked_ms INTEGER
);
"""
_COLUMNS = "id, kind, village, device, issued_ms, revoked_ms"


class DeviceToken(msgspec.Struct, frozen=True):
    """What a token allows: posting for `device` of `village`, or any device of it (gateway)."""

    id: int
    kind: Kind
    village: str
    device: str | None
    issued_ms: int
    revoked_ms: int | None = None

    def allows(self, village: str, device: str | None = None) -> bool:
        if village != self.village:
            return False
        return self.kind == "gateway" or device == self.device

    def holder(self) -> str:
        return self.device if self.kind == "device" and self.device else f"gateway:{self.village}"


class DeviceTokenStore:
    def __init__(self, path: Path, synchronous: str = "full") -> None:
        self.db = Database(path, SCHEMA, synchronous)

    def issue(self, kind: Kind, village: str, device: str | None, now_ms: int) -> tuple[int, str]:
        """A new token's id and the token itself, which is returned this once only."""
        if (kind == "device") != (device is not None):
            raise ValueError("a device token names its device; a gateway token names none")
        token = new_secret(TOKEN_PREFIX)
        with self.db.transaction() as conn:
            cursor = conn.execute(
                "INSERT INTO device_tokens (digest, kind, village, device, issued_ms) "
                "VALUES (?, ?, ?, ?, ?)",
                (digest(token), kind, village, device, now_ms),
            )
        assert cursor.lastrowid is not None
        return cursor.lastrowid, token

    def check(self, token: str) -> DeviceToken | None:
        """The token's grant, or None when it is unknown or revoked."""
        if not token.startswith(TOKEN_PREFIX):
            return None
        row = (
            self.db.reader()
            .execute(
                f"SELECT {_COLUMNS} FROM device_tokens WHERE digest = ? AND revoked_ms IS NULL",
                (digest(token),),
            )
            .fetchone()
        )
        return DeviceToken(*row) if row else None

    def tokens(self, include_revoked: bool = False) -> list[DeviceToken]:
        where = "" if include_revoked else " WHERE revoked_ms IS NULL"
        rows = self.db.reader().execute(f"SELECT {_COLUMNS} FROM device_tokens{where} ORDER BY id")
        return [DeviceToken(*row) for row in rows.fetchall()]

    def revoke(self, token_id: int, now_ms: int) -> bool:
        """False when there is no such token still in force."""
        with self.db.transaction() as conn:
            changed = conn.execute(
                "UPDATE device_tokens SET revoked_ms = ? WHERE id = ? AND revoked_ms IS NULL",
                (now_ms, token_id),
            ).rowcount
        return changed == 1

    def close(self) -> None:
        self.db.close()
