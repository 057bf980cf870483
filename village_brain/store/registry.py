"""The relational side of the store: devices, their presence, rejections and events.

In SQLite beside the series by default; in the shared PostgreSQL database when several
workers run (`[cluster] postgres_dsn`), whichever backend holds the time series.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any

import msgspec

from village_brain.core.devices import Device, Presence
from village_brain.core.records import Rejection
from village_brain.store.migrate import Migration, Schema, sql_steps
from village_brain.store.pg_db import PostgresDatabase
from village_brain.store.registry_sql import POSTGRES, SQLITE
from village_brain.store.sqlite_db import Database

# Columns added since the first release: a registry made before them gains them when opened.
_ADDED_COLUMNS = (
    ("devices", "foreign_id", "TEXT NOT NULL DEFAULT ''"),
    ("devices", "last_stored_ms", "INTEGER"),
    ("devices", "last_refused_ms", "INTEGER"),
    ("devices", "last_refused_reason", "TEXT"),
    ("rejections", "retained_key", "TEXT"),
)
# Made after the columns, which an older registry lacks until then.
_RETAINED_INDEX = (
    "CREATE INDEX IF NOT EXISTS rejections_of_retained ON rejections (retained_key) "
    "WHERE retained_key IS NOT NULL"
)


class Event(msgspec.Struct, frozen=True):
    village: str
    device: str
    ts_ms: int
    type: str
    data: dict[str, object] = {}


class StoredEvent(msgspec.Struct, frozen=True):
    """An event as read back, its data as the JSON text it was stored as.

    Rows may predate today's checks at ingest, so the reader decides how to show the data.
    """

    village: str
    device: str
    ts_ms: int
    type: str
    data_json: str


class BatchRecord(msgspec.Struct):
    """Everything one ingest batch changes in the registry, committed in one transaction."""

    new_devices: list[Device] = msgspec.field(default_factory=list)
    seen: dict[str, int] = msgspec.field(default_factory=dict)
    # device -> receipt time of its latest message with a reading or event that was stored
    stored: dict[str, int] = msgspec.field(default_factory=dict)
    statuses: dict[str, tuple[str, int]] = msgspec.field(default_factory=dict)
    rejections: list[Rejection] = msgspec.field(default_factory=list)
    events: list[Event] = msgspec.field(default_factory=list)


class DeviceRow(msgspec.Struct, frozen=True, gc=False):
    # Untracked by the cycle collector: a fleet's read makes ten thousand, and they hold
    # only a Device and a Presence, so they make no cycles.
    device: Device
    presence: Presence


_DEVICE_COLUMNS = (
    "id, village, kind, name, place, lat, lon, sensors, source, foreign_id, last_seen_ms, "
    "status, status_ms, last_stored_ms, last_refused_ms, last_refused_reason"
)


class PendingDevice(msgspec.Struct, frozen=True):
    """A device refused as unknown under strict registration, waiting for an admin."""

    device: str
    village: str
    first_ms: int
    last_ms: int
    messages: int
    topic: str


class RegistryStore:
    def __init__(
        self, path: Path, synchronous: str = "full", postgres_dsn: str | None = None
    ) -> None:
        """In SQLite at `path`, or with `postgres_dsn` in that shared PostgreSQL database.
        `path` stays this process's file either way: device logins and tokens live there."""
        self.path = path
        if postgres_dsn is not None:
            self.db: Database | PostgresDatabase = PostgresDatabase(postgres_dsn, POSTGRES_SCHEMA)
            self._sql = POSTGRES
        else:
            self.db = Database(path, SQLITE_SCHEMA, synchronous)
            self._sql = SQLITE

    def upsert_devices(self, devices: Iterable[Device]) -> None:
        with self.db.transaction() as conn:
            self._upsert(conn, devices)

    @staticmethod
    def _upsert(conn: Any, devices: Iterable[Device]) -> None:
        # In id order: two writers registering the same devices take their rows' locks in
        # the same order, so neither waits for the other in a circle.
        conn.executemany(
            "INSERT INTO devices (id, village, kind, name, place, lat, lon, sensors, source, "
            "foreign_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET "
            "village=excluded.village, kind=excluded.kind, name=excluded.name, "
            "place=excluded.place, lat=excluded.lat, lon=excluded.lon, "
            "sensors=excluded.sensors, source=excluded.source, "
            # A devices file knows nothing of foreign ids: keep the one a source recorded.
            "foreign_id=coalesce(nullif(excluded.foreign_id, ''), devices.foreign_id)",
            [
                (
                    d.id,
                    d.village,
                    d.kind,
                    d.name,
                    d.place,
                    d.lat,
                    d.lon,
                    json.dumps(d.sensors),
                    d.source,
                    d.foreign_id,
                )
                for d in sorted(devices, key=lambda d: d.id)
            ],
        )

    def commit(self, batch: BatchRecord) -> None:
        """One transaction. Times only move forward, whichever of two writers commits last."""
        refused = _latest_refusals(batch.rejections)
        with self.db.transaction() as conn:
            if self._sql.lock:
                # Every device row this batch changes, locked up front in id order: the
                # statements below would otherwise lock them in whatever order each plan
                # visits them, and two workers sharing a device could deadlock.
                touched = _touched(batch, refused)
                if touched:
                    conn.execute(self._sql.lock, (_json(touched),)).fetchall()
            self._upsert(conn, batch.new_devices)
            if batch.seen:
                # One statement, not executemany: see SqliteSeriesStore.write on the GIL.
                conn.execute(self._sql.seen, (_json(batch.seen),))
            if batch.stored:
                conn.execute(self._sql.stored, (_json(batch.stored),))
            if refused:
                conn.execute(self._sql.refused, (_json(refused),))
            conn.executemany(
                "UPDATE devices SET status = ?, status_ms = ? WHERE id = ?",
                [(status, ms, device) for device, (status, ms) in sorted(batch.statuses.items())],
            )
            conn.executemany(
                "INSERT INTO rejections (at_ms, reason, detail, topic, village, device, sensor, "
                "excerpt, retained_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        r.at_ms,
                        r.reason,
                        r.detail,
                        r.topic,
                        r.village,
                        r.device,
                        r.sensor,
                        r.excerpt,
                        r.retained_key,
                    )
                    for r in batch.rejections
                ],
            )
            conn.executemany(
                "INSERT INTO events (village, device, ts_ms, type, data) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                [(e.village, e.device, e.ts_ms, e.type, json.dumps(e.data)) for e in batch.events],
            )

    def devices(self) -> list[DeviceRow]:
        rows = self.db.reader().execute(f"SELECT {_DEVICE_COLUMNS} FROM devices ORDER BY id")
        return [_device_row(row) for row in rows]

    def device_ids(self, village: str | None = None) -> list[str]:
        """The ids of every device (of one village), in the order of `devices()`.

        For answers that need nothing else of each device: building a whole row for each
        of ten thousand devices costs more than the query.
        """
        rows = self.db.reader().execute(
            "SELECT id FROM devices WHERE :village IS NULL OR village = :village ORDER BY id",
            {"village": village},
        )
        return [device_id for (device_id,) in rows]

    def device(self, device_id: str) -> DeviceRow | None:
        row = (
            self.db.reader()
            .execute(f"SELECT {_DEVICE_COLUMNS} FROM devices WHERE id = ?", (device_id,))
            .fetchone()
        )
        return _device_row(row) if row else None

    def rejections(
        self, limit: int = 100, reason: str | None = None, device: str | None = None
    ) -> list[Rejection]:
        rows = self.db.reader().execute(
            "SELECT at_ms, reason, detail, topic, village, device, sensor, excerpt "
            "FROM rejections WHERE (:reason IS NULL OR reason = :reason) "
            "AND (:device IS NULL OR device = :device) ORDER BY id DESC LIMIT :limit",
            {"reason": reason, "device": device, "limit": limit},
        )
        return [Rejection(*row) for row in rows]

    def retained_keys(self, limit: int) -> list[str]:
        """The keys of the retained messages refused most recently, newest first."""
        rows = self.db.reader().execute(
            "SELECT retained_key FROM rejections WHERE retained_key IS NOT NULL "
            "GROUP BY retained_key ORDER BY max(id) DESC LIMIT ?",
            (limit,),
        )
        return [key for (key,) in rows]

    def events(self, device: str, limit: int = 100) -> list[StoredEvent]:
        rows = self.db.reader().execute(
            "SELECT village, device, ts_ms, type, data FROM events WHERE device = ? "
            "ORDER BY ts_ms DESC LIMIT ?",
            (device, limit),
        )
        return [StoredEvent(*row) for row in rows]

    def prune_rejections(self, keep_rows: int, older_than_ms: int) -> int:
        """Bound the dead-letter log by age and by count."""
        with self.db.transaction() as conn:
            by_age = conn.execute("DELETE FROM rejections WHERE at_ms < ?", (older_than_ms,))
            by_count = conn.execute(
                "DELETE FROM rejections WHERE id <= (SELECT max(id) FROM rejections) - ?",
                (keep_rows,),
            )
            return by_age.rowcount + by_count.rowcount

    def pending_devices(self, limit: int = 200) -> list[PendingDevice]:
        """Devices refused as unknown that are neither registered nor refused by an admin."""
        rows = self.db.reader().execute(
            "SELECT device, village, min(at_ms), max(at_ms), count(*), max(topic) "
            "FROM rejections WHERE reason = 'unknown_device' AND device IS NOT NULL "
            "AND village IS NOT NULL "
            "AND device NOT IN (SELECT id FROM devices) "
            "AND device NOT IN (SELECT device FROM refused_devices) "
            "GROUP BY device, village ORDER BY max(at_ms) DESC LIMIT ?",
            (limit,),
        )
        return [PendingDevice(*row) for row in rows]

    def refuse_pending(self, device: str, village: str, at_ms: int) -> None:
        """Keep the device off the pending list; registering it by hand still works."""
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO refused_devices (device, village, refused_ms) VALUES (?, ?, ?) "
                "ON CONFLICT (device) DO UPDATE SET village = excluded.village, "
                "refused_ms = excluded.refused_ms",
                (device, village, at_ms),
            )

    def remove_device(self, device: str) -> bool:
        """Decommission: the device leaves the registry; its stored readings stay."""
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM refused_devices WHERE device = ?", (device,))
            return conn.execute("DELETE FROM devices WHERE id = ?", (device,)).rowcount > 0

    def close(self) -> None:
        self.db.close()


def _add_missing_columns(conn: sqlite3.Connection) -> None:
    for table, column, kind in _ADDED_COLUMNS:
        present = {info[1] for info in conn.execute(f"PRAGMA table_info({table})")}
        if column not in present:
            conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")
    conn.execute(_RETAINED_INDEX)


SQLITE_SCHEMA = Schema(
    "registry",
    [*sql_steps("registry", "sqlite"), Migration(2, "added_columns", _add_missing_columns)],
)
POSTGRES_SCHEMA = Schema("registry", sql_steps("registry", "postgres"))


def _json(value: object) -> str:
    # Text, not bytes: PostgreSQL would take bytes for bytea.
    return msgspec.json.encode(value).decode()


def _touched(batch: BatchRecord, refused: list[tuple[str, str, int, str]]) -> list[str]:
    ids = {d.id for d in batch.new_devices}
    ids.update(batch.seen, batch.stored, batch.statuses)
    ids.update(device for _, device, _, _ in refused)
    return sorted(ids)


def _latest_refusals(rejections: Iterable[Rejection]) -> list[tuple[str, str, int, str]]:
    """(village, device, time, reason) of each device's latest rejection in the batch."""
    latest: dict[tuple[str, str], tuple[int, str]] = {}
    for r in rejections:
        if r.device is None or r.village is None:
            continue
        known = latest.get((r.village, r.device))
        if known is None or r.at_ms >= known[0]:
            latest[(r.village, r.device)] = (r.at_ms, r.reason)
    return [(village, device, ms, reason) for (village, device), (ms, reason) in latest.items()]


def _device_row(row: tuple) -> DeviceRow:
    (dev_id, village, kind, name, place, lat, lon, sensors, source, foreign, *presence) = row
    # Positional, in Device's field order: msgspec builds it faster than from keywords.
    device = Device(
        dev_id, village, kind, name, place, lat, lon, _sensors(sensors), source, foreign
    )
    return DeviceRow(device, Presence(*presence))


@lru_cache(maxsize=1024)
def _sensors(text: str) -> tuple[str, ...]:
    # A fleet shares a few sets of sensors (most often none): each is parsed once.
    return tuple(json.loads(text))
