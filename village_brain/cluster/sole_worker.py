"""One ingest worker on the MQTT input, its state in the shared PostgreSQL database.

With `input = "mqtt"` one process subscribes to the broker and evaluates every device, so
nothing is partitioned or fenced; API processes may still run beside it on the shared
database. A second such worker would evaluate the same devices unfenced and notify twice:
a session-wide advisory lock, held on a connection of its own for the worker's life,
refuses it at start.
"""

from __future__ import annotations

import contextlib

import psycopg

from village_brain.core.config import ConfigError

# Any fixed number shared by every worker: PostgreSQL's advisory locks are named by integers.
SOLE_WORKER_LOCK = 0x5642_4D51  # "VBMQ"


class SoleWorker:
    def __init__(self, dsn: str) -> None:
        try:
            self._conn = psycopg.connect(dsn, autocommit=True)
        except psycopg.Error as exc:
            raise ConfigError(f"[cluster] postgres_dsn: cannot connect ({exc})") from None
        (taken,) = self._conn.execute(
            "SELECT pg_try_advisory_lock(%s)", (SOLE_WORKER_LOCK,)
        ).fetchone()
        if not taken:
            self._conn.close()
            raise ConfigError(
                'another ingest worker with [ingest] input = "mqtt" already runs on this '
                "[cluster] postgres_dsn: run one such worker (its standby after it stops), or "
                'set input = "amqp" to share the devices among several (docs/scale.md)'
            )

    def close(self) -> None:
        # The lock would go with the session too, but the server ends a session a moment
        # after the client hangs up: a standby starting at once could be refused meanwhile.
        with contextlib.suppress(psycopg.Error):  # a connection gone took the lock with it
            self._conn.execute("SELECT pg_advisory_unlock(%s)", (SOLE_WORKER_LOCK,))
        self._conn.close()
