"""Commands and every step of their lifecycle, kept in SQLite (control.sqlite3).

Each change of state is one transaction guarded by the state it leaves, so a repeated or
late answer changes nothing, and a kill at any moment leaves each command in the last state
that was committed (a restart sends on what was `queued` or `sent`; see stage.py).
"""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import msgspec

from village_brain.control.records import Command, Origin, Step, may_follow
from village_brain.core.timefmt import now_ms
from village_brain.store.migrate import Schema, sql_steps
from village_brain.store.sqlite_db import Database

SQLITE_SCHEMA = Schema("control", sql_steps("control", "sqlite"))

log = logging.getLogger(__name__)


_COLUMNS = (
    "id, village, device, target, value, args, state, created_ms, expires_ms, "
    "by_whom, from_where, why, new_state, detail"
)
OPEN_STATES = ("queued", "sent", "accepted")


class CommandStore:
    def __init__(self, path: Path, synchronous: str = "full") -> None:
        self.db = Database(path, SQLITE_SCHEMA, synchronous)

    def add(self, command: Command) -> tuple[Command, bool]:
        """Keep a new command (queued); (the stored one, whether it is new). A command whose
        id is taken is not stored again: the one stored first is returned."""
        with self.db.transaction() as conn:
            cursor = conn.execute(
                f"INSERT OR IGNORE INTO commands ({_COLUMNS}) "
                "VALUES (?, ?, ?, ?, ?, ?, 'queued', ?, ?, ?, ?, ?, '{}', '')",
                (
                    command.id,
                    command.village,
                    command.device,
                    command.target,
                    _json(command.value),
                    _json(command.args),
                    command.created_ms,
                    command.expires_ms,
                    command.origin.by,
                    command.origin.where,
                    command.origin.why,
                ),
            )
            new = cursor.rowcount == 1
            if new:
                conn.execute(
                    "INSERT INTO command_steps VALUES (?, 'queued', ?, '')",
                    (command.id, command.created_ms),
                )
        stored = self.get(command.id)
        assert stored is not None
        return stored, new

    def move(
        self,
        command_id: str,
        state: str,
        at_ms: int,
        detail: str = "",
        new_state: dict[str, object] | None = None,
    ) -> Command | None:
        """Move a command on to `state`; the command as it now is, or None when that is no
        step forward (unknown id, already there, already final)."""
        with self.db.transaction() as conn:
            row = conn.execute("SELECT state FROM commands WHERE id = ?", (command_id,)).fetchone()
            if row is None or not may_follow(row[0], state):
                return None
            conn.execute(
                "UPDATE commands SET state = ?, detail = ?, new_state = ? WHERE id = ?",
                (state, detail, _json(new_state or {}), command_id),
            )
            conn.execute(
                "INSERT INTO command_steps VALUES (?, ?, ?, ?)", (command_id, state, at_ms, detail)
            )
        return self.get(command_id)

    def get(self, command_id: str) -> Command | None:
        conn = self.db.reader()
        row = conn.execute(
            f"SELECT {_COLUMNS} FROM commands WHERE id = ?", (command_id,)
        ).fetchone()
        return None if row is None else self._command(conn, row)

    def for_device(self, device: str, limit: int = 100) -> list[Command]:
        conn = self.db.reader()
        rows = conn.execute(
            f"SELECT {_COLUMNS} FROM commands WHERE device = ? "
            "ORDER BY created_ms DESC, rowid DESC LIMIT ?",
            (device, limit),
        ).fetchall()
        return [self._command(conn, row) for row in rows]

    def with_prefix(self, prefix: str) -> list[Command]:
        """Commands whose id starts with `prefix` (a rule action's, of one alert), oldest first."""
        conn = self.db.reader()
        rows = conn.execute(
            f"SELECT {_COLUMNS} FROM commands WHERE substr(id, 1, ?) = ? "
            "ORDER BY created_ms, rowid",
            (len(prefix), prefix),
        ).fetchall()
        return [self._command(conn, row) for row in rows]

    def open_commands(self, device: str | None = None) -> list[Command]:
        """Commands not yet final, oldest first."""
        conn = self.db.reader()
        marks = ", ".join("?" * len(OPEN_STATES))
        sql = f"SELECT {_COLUMNS} FROM commands WHERE state IN ({marks})"
        params: list[object] = list(OPEN_STATES)
        if device is not None:
            sql += " AND device = ?"
            params.append(device)
        rows = conn.execute(sql + " ORDER BY created_ms, rowid", params).fetchall()
        return [self._command(conn, row) for row in rows]

    def note_schedule(self, name: str, spec: str, at_ms: int | None = None) -> bool:
        """Keep a schedule's settings when they differ from the last kept: the audit trail
        of schedule changes. Whether they changed."""
        with self.db.transaction() as conn:
            row = conn.execute(
                "SELECT spec FROM schedule_versions WHERE name = ? ORDER BY rowid DESC LIMIT 1",
                (name,),
            ).fetchone()
            if row is not None and row[0] == spec:
                return False
            conn.execute(
                "INSERT INTO schedule_versions VALUES (?, ?, ?)",
                (name, spec, at_ms if at_ms is not None else now_ms()),
            )
        log.info("schedule %s %s: %s", name, "set" if row is None else "changed", spec)
        return True

    def schedule_versions(self, name: str) -> list[tuple[str, int]]:
        rows = self.db.reader().execute(
            "SELECT spec, at_ms FROM schedule_versions WHERE name = ? ORDER BY rowid", (name,)
        )
        return [(spec, at) for spec, at in rows]

    def close(self) -> None:
        self.db.close()

    @staticmethod
    def _command(conn: sqlite3.Connection, row: tuple) -> Command:
        steps = conn.execute(
            "SELECT state, at_ms, detail FROM command_steps WHERE command_id = ? "
            "ORDER BY at_ms, rowid",
            (row[0],),
        ).fetchall()
        return Command(
            id=row[0],
            village=row[1],
            device=row[2],
            target=row[3],
            value=msgspec.json.decode(row[4]),
            args=msgspec.json.decode(row[5]),
            state=row[6],
            created_ms=row[7],
            expires_ms=row[8],
            origin=Origin(by=row[9], where=row[10], why=row[11]),
            steps=tuple(Step(*step) for step in steps),
            new_state=msgspec.json.decode(row[12]),
            detail=row[13],
        )


def _json(value: object) -> str:
    return msgspec.json.encode(value).decode()
