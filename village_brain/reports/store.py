"""Villagers' reports, their photos, the work queue and its timelines, in SQLite
(reports.sqlite3).

Each primitive is one transaction. A villager's private link carries a token only they
hold: the database keeps its SHA-256, so a copied database file opens no status page.
"""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import msgspec

from village_brain.reports.records import (
    Entry,
    NewItem,
    NewPhoto,
    NewReport,
    Photo,
    Position,
    Report,
    WorkItem,
)
from village_brain.store.sqlite_db import Database

# A timeline line written with a change: kind, text, by, public.
NewEntry = tuple[str, str, str, bool]

SCHEMA = """
CREATE TABLE IF NOT EXISTS reports (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    number TEXT NOT NULL UNIQUE,
    day TEXT NOT NULL,             -- the village's date the number counts in, YYYYMMDD
    category TEXT NOT NULL,
    description TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    lat REAL,
    lon REAL,
    place TEXT NOT NULL DEFAULT '',
    name TEXT NOT NULL DEFAULT '',
    phone TEXT NOT NULL DEFAULT '',
    via TEXT NOT NULL DEFAULT 'page',
    attributes TEXT NOT NULL DEFAULT '{}'  -- JSON, code → answer
);
CREATE INDEX IF NOT EXISTS reports_by_day ON reports (day);
CREATE INDEX IF NOT EXISTS reports_by_time ON reports (created_ms);
CREATE TABLE IF NOT EXISTS photos (
    id TEXT PRIMARY KEY,           -- random: a photo's address is not guessable
    report_id INTEGER NOT NULL REFERENCES reports (id),
    seq INTEGER NOT NULL,
    data BLOB NOT NULL,            -- re-encoded, without metadata
    mime TEXT NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    created_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS photos_by_report ON photos (report_id, seq);
CREATE TABLE IF NOT EXISTS villager_tokens (
    token_sha256 TEXT PRIMARY KEY,
    report_id INTEGER NOT NULL UNIQUE REFERENCES reports (id)
);
CREATE TABLE IF NOT EXISTS work_items (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    source TEXT NOT NULL,
    title TEXT NOT NULL,
    category TEXT NOT NULL,
    status TEXT NOT NULL,
    priority TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL,
    report_id INTEGER UNIQUE REFERENCES reports (id),
    alert_id INTEGER,
    device TEXT NOT NULL DEFAULT '',
    lat REAL,
    lon REAL,
    department TEXT NOT NULL DEFAULT '',
    assignee TEXT NOT NULL DEFAULT '',
    claimed_by TEXT NOT NULL DEFAULT '',
    due_ms INTEGER,
    status_reason TEXT NOT NULL DEFAULT '',
    parent_id INTEGER REFERENCES work_items (id)
);
CREATE INDEX IF NOT EXISTS work_items_by_status ON work_items (status, updated_ms);
CREATE INDEX IF NOT EXISTS work_items_by_update ON work_items (updated_ms);
CREATE INDEX IF NOT EXISTS work_items_by_alert ON work_items (alert_id);
CREATE TABLE IF NOT EXISTS entries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    item_id INTEGER NOT NULL REFERENCES work_items (id),
    kind TEXT NOT NULL,
    text TEXT NOT NULL,
    by TEXT NOT NULL,
    at_ms INTEGER NOT NULL,
    public INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS entries_by_item ON entries (item_id, id);
"""

_REPORT_COLUMNS = (
    "id, number, category, description, created_ms, lat, lon, place, name, phone, via, attributes"
)
_ITEM_COLUMNS = (
    "id, source, title, category, status, priority, created_ms, updated_ms, report_id, "
    "alert_id, device, lat, lon, department, assignee, claimed_by, due_ms, status_reason, "
    "parent_id"
)
_ENTRY_COLUMNS = "id, item_id, kind, text, by, at_ms, public"
# What update_item may change; the rest is fixed when an item is made.
_UPDATABLE = frozenset(
    {
        "title",
        "category",
        "status",
        "priority",
        "device",
        "position",
        "department",
        "assignee",
        "claimed_by",
        "due_ms",
        "status_reason",
        "parent_id",
    }
)
TITLE_CHARS = 80
HOUR_MS = 3_600_000


class NoSuchItem(LookupError):
    """A work item id that is not in the queue."""


class ReportStore:
    def __init__(
        self,
        path: Path,
        synchronous: str = "full",
        due_hours: Mapping[str, float] | None = None,
        zone: str = "Asia/Shanghai",
    ) -> None:
        self.db = Database(path, SCHEMA, synchronous)
        # Hours from a report to its due time, by category; a category without one has none.
        self.due_hours = dict(due_hours or {})
        self.zone = ZoneInfo(zone)

    # --- reports ---------------------------------------------------------------------------

    def submit(self, new: NewReport, at_ms: int) -> tuple[Report, WorkItem, str]:
        """Keep a report, its photos and its work item (new); also the villager's token."""
        token = secrets.token_urlsafe(24)
        day = datetime.fromtimestamp(at_ms / 1000, self.zone).strftime("%Y%m%d")
        with self.db.transaction() as conn:
            (count,) = conn.execute("SELECT count(*) FROM reports WHERE day = ?", (day,)).fetchone()
            number = f"{day}-{count + 1:04d}"
            report_id = conn.execute(
                "INSERT INTO reports (number, day, category, description, created_ms, lat, lon, "
                "place, name, phone, via, attributes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    number,
                    day,
                    new.category,
                    new.description,
                    at_ms,
                    *_lat_lon(new.position),
                    new.place,
                    new.name,
                    new.phone,
                    new.via,
                    msgspec.json.encode(new.attributes).decode(),
                ),
            ).lastrowid
            assert report_id is not None
            for seq, photo in enumerate(new.photos):
                _insert_photo(conn, report_id, seq, photo, at_ms)
            conn.execute(
                "INSERT INTO villager_tokens VALUES (?, ?)", (_token_hash(token), report_id)
            )
            item = NewItem(
                source="report",
                title=_title(new.description, new.category),
                category=new.category,
                report_id=report_id,
                position=new.position,
            )
            item_id = _insert_item(conn, item, at_ms, self._due_ms(new.category, at_ms))
            _insert_entry(conn, item_id, "status", "new", "villager", at_ms, public=True)
            report = self._report(conn, "id = ?", report_id)
            item = _item(conn, "id = ?", item_id)
        assert report is not None and item is not None
        return report, item, token

    def report(self, report_id: int) -> Report | None:
        return self._report(self.db.reader(), "id = ?", report_id)

    def report_by_number(self, number: str) -> Report | None:
        return self._report(self.db.reader(), "number = ?", number)

    def report_for_token(self, token: str) -> Report | None:
        """The report a villager's private link is for; None for any other token."""
        return self._report(
            self.db.reader(),
            "id = (SELECT report_id FROM villager_tokens WHERE token_sha256 = ?)",
            _token_hash(token),
        )

    def reports(
        self,
        since_ms: int | None = None,
        until_ms: int | None = None,
        categories: Iterable[str] | None = None,
        limit: int = 1000,
    ) -> list[Report]:
        """Reports made in [since_ms, until_ms], newest first."""
        where, params = ["1"], []
        if since_ms is not None:
            where.append("created_ms >= ?")
            params.append(since_ms)
        if until_ms is not None:
            where.append("created_ms <= ?")
            params.append(until_ms)
        if categories is not None:
            codes = list(categories)
            where.append(f"category IN ({', '.join('?' * len(codes))})")
            params.extend(codes)
        conn = self.db.reader()
        rows = conn.execute(
            f"SELECT {_REPORT_COLUMNS} FROM reports WHERE {' AND '.join(where)} "
            "ORDER BY created_ms DESC, id DESC LIMIT ?",
            [*params, limit],
        ).fetchall()
        return [self._report_of(conn, row) for row in rows]

    def count_reports(self, since_ms: int, phone: str | None = None) -> int:
        """Reports made since `since_ms`, of one phone number when given."""
        sql, params = "SELECT count(*) FROM reports WHERE created_ms >= ?", [since_ms]
        if phone is not None:
            sql += " AND phone = ?"
            params.append(phone)
        return self.db.reader().execute(sql, params).fetchone()[0]

    # --- photos ----------------------------------------------------------------------------

    def put_photo(self, report_id: int, photo: NewPhoto, at_ms: int) -> str:
        """Add a photo to a report already kept; its id."""
        with self.db.transaction() as conn:
            (seq,) = conn.execute(
                "SELECT count(*) FROM photos WHERE report_id = ?", (report_id,)
            ).fetchone()
            return _insert_photo(conn, report_id, seq, photo, at_ms)

    def photo(self, photo_id: str) -> Photo | None:
        row = (
            self.db.reader()
            .execute(
                "SELECT id, report_id, data, mime, width, height, created_ms FROM photos "
                "WHERE id = ?",
                (photo_id,),
            )
            .fetchone()
        )
        return None if row is None else Photo(*row)

    # --- work items ------------------------------------------------------------------------

    def item(self, item_id: int) -> WorkItem | None:
        return _item(self.db.reader(), "id = ?", item_id)

    def item_for_report(self, report_id: int) -> WorkItem | None:
        return _item(self.db.reader(), "report_id = ?", report_id)

    def items(
        self,
        status: str | Iterable[str] | None = None,
        since_ms: int | None = None,
        source: str | None = None,
        alert_id: int | None = None,
        limit: int = 1000,
    ) -> list[WorkItem]:
        """Items in these statuses, changed at or after `since_ms`, oldest first."""
        where, params = ["1"], []
        if status is not None:
            wanted = [status] if isinstance(status, str) else list(status)
            where.append(f"status IN ({', '.join('?' * len(wanted))})")
            params.extend(wanted)
        if since_ms is not None:
            where.append("updated_ms >= ?")
            params.append(since_ms)
        if source is not None:
            where.append("source = ?")
            params.append(source)
        if alert_id is not None:
            where.append("alert_id = ?")
            params.append(alert_id)
        rows = (
            self.db.reader()
            .execute(
                f"SELECT {_ITEM_COLUMNS} FROM work_items WHERE {' AND '.join(where)} "
                "ORDER BY id LIMIT ?",
                [*params, limit],
            )
            .fetchall()
        )
        return [_item_of(row) for row in rows]

    def insert_item(self, new: NewItem, at_ms: int, by: str = "system") -> WorkItem:
        """A work item not made by a report (a sensor alert that needs a visit, a work order)."""
        if new.report_id is not None:
            raise ValueError("a report's work item is opened by submit, with the report")
        due = self._due_ms(new.category, at_ms) if new.due_ms is None else new.due_ms
        with self.db.transaction() as conn:
            item_id = _insert_item(conn, new, at_ms, due)
            _insert_entry(conn, item_id, "status", "new", by, at_ms, public=False)
            item = _item(conn, "id = ?", item_id)
        assert item is not None
        return item

    def update_item(
        self,
        item_id: int,
        at_ms: int,
        entries: Sequence[NewEntry] = (),
        **fields: object,
    ) -> WorkItem:
        """Change these fields of an item (WorkItem's names; `position` a Position or None),
        with the timeline lines that say so in the same transaction: a crash never leaves a
        change without its line."""
        unknown = set(fields) - _UPDATABLE
        if unknown:
            raise ValueError(f"work items have no changeable field {', '.join(sorted(unknown))}")
        sets, params = ["updated_ms = ?"], [at_ms]
        for name, value in fields.items():
            if name == "position":
                assert value is None or isinstance(value, Position)
                sets.append("lat = ?, lon = ?")
                params.extend(_lat_lon(value))
            else:
                sets.append(f"{name} = ?")
                params.append(value)
        with self.db.transaction() as conn:
            changed = conn.execute(
                f"UPDATE work_items SET {', '.join(sets)} WHERE id = ?", [*params, item_id]
            ).rowcount
            if not changed:
                raise NoSuchItem(f"no work item {item_id}")
            for kind, text, by, public in entries:
                _insert_entry(conn, item_id, kind, text, by, at_ms, public=public)
            item = _item(conn, "id = ?", item_id)
        assert item is not None
        return item

    # --- timelines -------------------------------------------------------------------------

    def add_entry(
        self, item_id: int, kind: str, text: str, by: str, at_ms: int, public: bool = False
    ) -> Entry:
        """A line on an item's timeline; the item counts as changed at `at_ms`."""
        with self.db.transaction() as conn:
            changed = conn.execute(
                "UPDATE work_items SET updated_ms = max(updated_ms, ?) WHERE id = ?",
                (at_ms, item_id),
            ).rowcount
            if not changed:
                raise NoSuchItem(f"no work item {item_id}")
            entry_id = _insert_entry(conn, item_id, kind, text, by, at_ms, public)
            row = conn.execute(
                f"SELECT {_ENTRY_COLUMNS} FROM entries WHERE id = ?", (entry_id,)
            ).fetchone()
        return _entry_of(row)

    def entries(self, item_id: int, public_only: bool = False) -> list[Entry]:
        sql = f"SELECT {_ENTRY_COLUMNS} FROM entries WHERE item_id = ?"
        if public_only:
            sql += " AND public = 1"
        rows = self.db.reader().execute(sql + " ORDER BY id", (item_id,)).fetchall()
        return [_entry_of(row) for row in rows]

    def close(self) -> None:
        self.db.close()

    # --- rows to records -------------------------------------------------------------------

    def _due_ms(self, category: str, at_ms: int) -> int | None:
        hours = self.due_hours.get(category)
        return None if hours is None else at_ms + round(hours * HOUR_MS)

    def _report(self, conn: sqlite3.Connection, where: str, value: object) -> Report | None:
        row = conn.execute(
            f"SELECT {_REPORT_COLUMNS} FROM reports WHERE {where}", (value,)
        ).fetchone()
        return None if row is None else self._report_of(conn, row)

    @staticmethod
    def _report_of(conn: sqlite3.Connection, row: tuple) -> Report:
        photos = conn.execute(
            "SELECT id FROM photos WHERE report_id = ? ORDER BY seq", (row[0],)
        ).fetchall()
        return Report(
            id=row[0],
            number=row[1],
            category=row[2],
            description=row[3],
            created_ms=row[4],
            position=_position(row[5], row[6]),
            place=row[7],
            photos=tuple(photo_id for (photo_id,) in photos),
            name=row[8],
            phone=row[9],
            via=row[10],
            attributes=msgspec.json.decode(row[11], type=dict[str, str]),
        )


def _insert_photo(
    conn: sqlite3.Connection, report_id: int, seq: int, photo: NewPhoto, at_ms: int
) -> str:
    photo_id = secrets.token_hex(12)
    conn.execute(
        "INSERT INTO photos VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (photo_id, report_id, seq, photo.data, photo.mime, photo.width, photo.height, at_ms),
    )
    return photo_id


def _insert_item(conn: sqlite3.Connection, new: NewItem, at_ms: int, due_ms: int | None) -> int:
    item_id = conn.execute(
        "INSERT INTO work_items (source, title, category, status, priority, created_ms, "
        "updated_ms, report_id, alert_id, device, lat, lon, department, due_ms, parent_id) "
        "VALUES (?, ?, ?, 'new', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            new.source,
            new.title,
            new.category,
            new.priority,
            at_ms,
            at_ms,
            new.report_id,
            new.alert_id,
            new.device,
            *_lat_lon(new.position),
            new.department,
            due_ms,
            new.parent_id,
        ),
    ).lastrowid
    assert item_id is not None
    return item_id


def _insert_entry(
    conn: sqlite3.Connection,
    item_id: int,
    kind: str,
    text: str,
    by: str,
    at_ms: int,
    public: bool,
) -> int:
    entry_id = conn.execute(
        "INSERT INTO entries (item_id, kind, text, by, at_ms, public) VALUES (?, ?, ?, ?, ?, ?)",
        (item_id, kind, text, by, at_ms, int(public)),
    ).lastrowid
    assert entry_id is not None
    return entry_id


def _item(conn: sqlite3.Connection, where: str, value: object) -> WorkItem | None:
    row = conn.execute(f"SELECT {_ITEM_COLUMNS} FROM work_items WHERE {where}", (value,)).fetchone()
    return None if row is None else _item_of(row)


def _item_of(row: tuple) -> WorkItem:
    return WorkItem(
        id=row[0],
        source=row[1],
        title=row[2],
        category=row[3],
        status=row[4],
        priority=row[5],
        created_ms=row[6],
        updated_ms=row[7],
        report_id=row[8],
        alert_id=row[9],
        device=row[10],
        position=_position(row[11], row[12]),
        department=row[13],
        assignee=row[14],
        claimed_by=row[15],
        due_ms=row[16],
        status_reason=row[17],
        parent_id=row[18],
    )


def _entry_of(row: tuple) -> Entry:
    return Entry(
        id=row[0],
        item_id=row[1],
        kind=row[2],
        text=row[3],
        by=row[4],
        at_ms=row[5],
        public=bool(row[6]),
    )


def _title(description: str, category: str) -> str:
    first = description.strip().splitlines()[0].strip() if description.strip() else category
    return first if len(first) <= TITLE_CHARS else first[: TITLE_CHARS - 1] + "…"


def _lat_lon(position: Position | None) -> tuple[float | None, float | None]:
    return (None, None) if position is None else (position.lat, position.lon)


def _position(lat: float | None, lon: float | None) -> Position | None:
    return None if lat is None or lon is None else Position(lat=lat, lon=lon)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
