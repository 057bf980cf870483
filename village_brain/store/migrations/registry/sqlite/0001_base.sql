-- The registry as it stood before versioned migrations; idempotent, so a file
-- made then is adopted unchanged.
CREATE TABLE IF NOT EXISTS devices (
    id TEXT PRIMARY KEY,
    village TEXT NOT NULL,
    kind TEXT NOT NULL DEFAULT 'unknown',
    name TEXT NOT NULL DEFAULT '',
    place TEXT NOT NULL DEFAULT '',
    lat REAL,
    lon REAL,
    sensors TEXT NOT NULL DEFAULT '[]',
    source TEXT NOT NULL DEFAULT 'file',
    foreign_id TEXT NOT NULL DEFAULT '',
    last_seen_ms INTEGER,
    status TEXT,
    status_ms INTEGER,
    last_stored_ms INTEGER,
    last_refused_ms INTEGER,
    last_refused_reason TEXT
);
CREATE TABLE IF NOT EXISTS rejections (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at_ms INTEGER NOT NULL,
    reason TEXT NOT NULL,
    detail TEXT NOT NULL,
    topic TEXT NOT NULL,
    village TEXT,
    device TEXT,
    sensor TEXT,
    excerpt TEXT NOT NULL,
    retained_key TEXT
);
CREATE INDEX IF NOT EXISTS rejections_by_time ON rejections (at_ms);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    village TEXT NOT NULL,
    device TEXT NOT NULL,
    ts_ms INTEGER NOT NULL,
    type TEXT NOT NULL,
    data TEXT NOT NULL DEFAULT '{}',
    UNIQUE (device, ts_ms, type)
);
CREATE TABLE IF NOT EXISTS refused_devices (
    device TEXT PRIMARY KEY,
    village TEXT NOT NULL,
    refused_ms INTEGER NOT NULL
);
