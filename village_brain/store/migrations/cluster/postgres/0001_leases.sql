-- One row per partition: who evaluates it now, until when, and under which epoch. The epoch
-- grows by one at every change of owner; a write carrying an older epoch is refused.
CREATE TABLE partition_leases (
    partition INTEGER PRIMARY KEY,
    owner TEXT,
    epoch BIGINT NOT NULL DEFAULT 0,
    expires_at TIMESTAMPTZ NOT NULL DEFAULT '-infinity',
    acquired_at TIMESTAMPTZ
);
