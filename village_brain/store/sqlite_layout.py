"""The tables of the embedded series store, and bringing an older data directory up to them.

Points live in two tables. `points_history` is clustered by (series_id, ts), which makes
"latest" and range reads cheap; but once each series owns its own leaf pages, writing one
reading per device dirties one page per reading, so the cost of a write grows with the
history. New points therefore go to `points_recent`, clustered by (ts, series_id): readings
arrive in time order, so a batch lands on the last few pages whatever the history holds.
A fold moves them into the history every few minutes, many points per series at a time.

A (series, ts) key is in at most one of the two tables (the write checks the history), so
the `points` view over both is every point exactly once. `series_latest` holds the newest
point of each series in the history, kept by the fold, so the fleet's latest values take
one pass over it rather than a search per series.
"""

from __future__ import annotations

import sqlite3

SERIES_SCHEMA = """
CREATE TABLE IF NOT EXISTS series (
    id INTEGER PRIMARY KEY,
    device TEXT NOT NULL,
    sensor TEXT NOT NULL,
    village TEXT NOT NULL,
    UNIQUE (device, sensor)
);
"""

# Created after the older `points` table, if any, has become the history.
POINTS_SCHEMA = """
CREATE TABLE IF NOT EXISTS points_history (
    series_id INTEGER NOT NULL REFERENCES series(id),
    ts INTEGER NOT NULL,
    value REAL NOT NULL,
    PRIMARY KEY (series_id, ts)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS points_recent (
    ts INTEGER NOT NULL,
    series_id INTEGER NOT NULL REFERENCES series(id),
    value REAL NOT NULL,
    PRIMARY KEY (ts, series_id)
) WITHOUT ROWID;
-- One series' staged points without a pass over all of them (a device page, a rate rule
-- rebuilding its window): small entries, so a batch dirties few of its pages.
CREATE INDEX IF NOT EXISTS points_recent_series ON points_recent (series_id, ts);
CREATE TABLE IF NOT EXISTS series_latest (
    series_id INTEGER PRIMARY KEY REFERENCES series(id),
    ts INTEGER NOT NULL,
    value REAL NOT NULL
);
CREATE VIEW IF NOT EXISTS points (series_id, ts, value) AS
    SELECT series_id, ts, value FROM points_history
    UNION ALL
    SELECT series_id, ts, value FROM points_recent;
"""


def upgrade(conn: sqlite3.Connection) -> bool:
    """Bring the points tables to this layout inside the caller's transaction.

    A data directory from before the staging table has its points in a table named
    `points`, clustered exactly like the history; renaming it is all the conversion
    needs, touches no row and takes no time whatever its size. Returns whether it did.
    """
    kind = conn.execute("SELECT type FROM sqlite_schema WHERE name = 'points'").fetchone()
    renamed = kind is not None and kind[0] == "table"
    if renamed:
        conn.execute("ALTER TABLE points RENAME TO points_history")
    for statement in POINTS_SCHEMA.split(";"):
        if statement.strip():
            conn.execute(statement)
    if renamed:
        rebuild_latest(conn)
    return renamed


def rebuild_latest(conn: sqlite3.Connection) -> None:
    """Fill `series_latest` from the history: one key search per series, once."""
    conn.execute("DELETE FROM series_latest")
    conn.execute(
        "INSERT INTO series_latest (series_id, ts, value) "
        "SELECT h.series_id, h.ts, h.value FROM series s JOIN points_history h "
        "ON h.series_id = s.id "
        "AND h.ts = (SELECT max(ts) FROM points_history WHERE series_id = s.id)"
    )
