-- The command database as it stood before versioned migrations; idempotent, so a file
-- made then is adopted unchanged.
CREATE TABLE IF NOT EXISTS commands (
    id TEXT PRIMARY KEY,
    village TEXT NOT NULL,
    device TEXT NOT NULL,
    target TEXT NOT NULL,
    value TEXT NOT NULL,           -- JSON
    args TEXT NOT NULL,            -- JSON
    state TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    expires_ms INTEGER NOT NULL,
    by_whom TEXT NOT NULL,
    from_where TEXT NOT NULL,
    why TEXT NOT NULL,
    new_state TEXT NOT NULL DEFAULT '{}',
    detail TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS commands_by_device ON commands (device, created_ms);
CREATE INDEX IF NOT EXISTS commands_open ON commands (state)
    WHERE state IN ('queued', 'sent', 'accepted');
CREATE TABLE IF NOT EXISTS command_steps (
    command_id TEXT NOT NULL REFERENCES commands (id) ON DELETE CASCADE,
    state TEXT NOT NULL,
    at_ms INTEGER NOT NULL,
    detail TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS command_steps_by_command ON command_steps (command_id, at_ms);
CREATE TABLE IF NOT EXISTS schedule_versions (
    name TEXT NOT NULL,
    spec TEXT NOT NULL,            -- the schedule's settings, as JSON
    at_ms INTEGER NOT NULL
);
