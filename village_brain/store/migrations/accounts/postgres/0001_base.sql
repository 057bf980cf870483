-- Accounts on PostgreSQL, so every API process shares logins: the same tables as on SQLite.
-- "user" is quoted: unquoted it is PostgreSQL's current_user.
CREATE TABLE users (
    name TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    made_by TEXT NOT NULL
);
CREATE TABLE tokens (
    digest TEXT PRIMARY KEY,
    "user" TEXT NOT NULL REFERENCES users (name) ON DELETE CASCADE,
    created_ms BIGINT NOT NULL
);
CREATE TABLE sessions (
    digest TEXT PRIMARY KEY,
    "user" TEXT NOT NULL REFERENCES users (name) ON DELETE CASCADE,
    expires_ms BIGINT NOT NULL
);
CREATE INDEX sessions_by_user ON sessions ("user");
CREATE INDEX tokens_by_user ON tokens ("user");
