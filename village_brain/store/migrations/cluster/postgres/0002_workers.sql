-- Workers that are alive, holding partitions or not: a worker that just joined counts in the
-- fair share, so the others hand it some partitions.
CREATE TABLE cluster_workers (
    owner TEXT PRIMARY KEY,
    expires_at TIMESTAMPTZ NOT NULL
);
