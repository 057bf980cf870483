"""Device broker credentials, kept as password hashes beside the registry's devices."""

from __future__ import annotations

from pathlib import Path

from village_brain.store.sqlite_db import Database

SCHEMA = """
CREATE TABLE IF NOT EXISTS mqtt_credentials (
    device TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    issued_ms INTEGER NOT NULL
);
"""


class CredentialStore:
    """Only hashes go in: a lost password is replaced (rotated), never recovered."""

    def __init__(self, path: Path, synchronous: str = "full") -> None:
        self.db = Database(path, SCHEMA, synchronous)

    def set_hash(self, device: str, password_hash: str, issued_ms: int) -> None:
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO mqtt_credentials (device, password_hash, issued_ms) "
                "VALUES (?, ?, ?) ON CONFLICT (device) DO UPDATE SET "
                "password_hash = excluded.password_hash, issued_ms = excluded.issued_ms",
                (device, password_hash, issued_ms),
            )

    def hashes(self) -> dict[str, str]:
        rows = self.db.reader().execute("SELECT device, password_hash FROM mqtt_credentials")
        return dict(rows.fetchall())

    def issued_ms(self, device: str) -> int | None:
        row = (
            self.db.reader()
            .execute("SELECT issued_ms FROM mqtt_credentials WHERE device = ?", (device,))
            .fetchone()
        )
        return row[0] if row else None

    def remove(self, device: str) -> bool:
        with self.db.transaction() as conn:
            return (
                conn.execute("DELETE FROM mqtt_credentials WHERE device = ?", (device,)).rowcount
                > 0
            )

    def close(self) -> None:
        self.db.close()
