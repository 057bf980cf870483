-- The alert database as it stood before versioned migrations; idempotent, so a file
-- made then is adopted unchanged.
CREATE TABLE IF NOT EXISTS alerts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    rule_id TEXT NOT NULL,
    rule_name TEXT NOT NULL,
    severity TEXT NOT NULL,
    kind TEXT NOT NULL,
    village TEXT NOT NULL,
    device TEXT NOT NULL,
    subject TEXT NOT NULL,
    state TEXT NOT NULL,
    message TEXT NOT NULL,
    started_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL,
    value REAL,
    acked_ms INTEGER,
    acked_by TEXT,
    ack_comment TEXT,
    resolved_ms INTEGER,
    notified_ms INTEGER,
    reminders INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX IF NOT EXISTS one_open_alert_per_subject
    ON alerts (rule_id, device, subject) WHERE state != 'resolved';
CREATE INDEX IF NOT EXISTS alerts_by_start ON alerts (started_ms);
CREATE TABLE IF NOT EXISTS timeline (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    alert_id INTEGER NOT NULL REFERENCES alerts (id),
    kind TEXT NOT NULL,
    at_ms INTEGER NOT NULL,
    value REAL,
    by TEXT,
    comment TEXT
);
CREATE INDEX IF NOT EXISTS timeline_by_alert ON timeline (alert_id);
CREATE TABLE IF NOT EXISTS rules (
    id TEXT PRIMARY KEY,
    body TEXT NOT NULL,
    updated_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS webhooks (
    id TEXT PRIMARY KEY,
    body TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    webhook_id TEXT NOT NULL,
    alert_id INTEGER NOT NULL,
    msg_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    body TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    created_ms INTEGER NOT NULL,
    next_attempt_ms INTEGER,
    last_attempt_ms INTEGER,
    delivered_ms INTEGER,
    last_status INTEGER,
    last_error TEXT,
    delivery_key TEXT,
    group_key TEXT NOT NULL DEFAULT '',
    batch INTEGER
);
-- What each rule's tracker must not forget across a restart (a pending `for`, hysteresis,
-- an event's clear deadline, a device's registration time), as JSON.
CREATE TABLE IF NOT EXISTS rule_state (
    rule_id TEXT NOT NULL,
    device TEXT NOT NULL,
    subject TEXT NOT NULL,
    kind TEXT NOT NULL,
    village TEXT NOT NULL,
    state TEXT NOT NULL,
    updated_ms INTEGER NOT NULL,
    PRIMARY KEY (rule_id, device, subject)
);
DROP INDEX IF EXISTS outbox_due;
CREATE INDEX IF NOT EXISTS outbox_queue ON outbox (state, webhook_id, next_attempt_ms, id);
