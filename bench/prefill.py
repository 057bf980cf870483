"""Fill an embedded series store with history fast: millions of points a second.

The points go straight into the clustered history in key order, generated inside SQLite,
with the journal off: a bench's scratch database, never a real one. Benchmarks call
`prefill`; from a shell:

    .venv/bin/python bench/prefill.py DATA_DIR --devices 1000 --points 10000
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from village_brain.store.sqlite_layout import rebuild_latest
from village_brain.store.sqlite_series import SqliteSeriesStore

SENSORS = ("water_level", "battery_voltage", "rssi", "air_temperature")
# Series filled per statement: big enough to keep Python out of the loop, small enough
# that one transaction stays a few hundred MB of pages at most.
_SERIES_PER_STATEMENT = 200

_FILL = """
WITH RECURSIVE k(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM k WHERE i < :n - 1)
INSERT INTO points_history (series_id, ts, value)
SELECT s.id, :first + k.i * :step, (s.id % 97) * 0.25 + (k.i % 240) * 0.125
FROM series s CROSS JOIN k WHERE s.id IN (SELECT value FROM json_each(:ids))
"""


def device_ids(devices: int, prefix: str = "dev-") -> list[str]:
    width = max(3, len(str(devices - 1)))
    return [f"{prefix}{i:0{width}d}" for i in range(devices)]


def prefill(
    path: Path,
    devices: Sequence[str],
    points_per_series: int,
    step_ms: int,
    end_ms: int,
    sensors: Sequence[str] = SENSORS,
    village: str = "bench",
) -> int:
    """Give every (device, sensor) points_per_series points, step_ms apart, ending before end_ms.

    Returns how many points were written. The file keeps the store's own layout, so a
    SqliteSeriesStore (or `serve`) opens it as it would any data directory.
    """
    SqliteSeriesStore(path).close()
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=OFF")
        conn.execute("PRAGMA synchronous=OFF")
        conn.execute("PRAGMA cache_size=-262144")
        conn.execute("BEGIN")
        conn.executemany(
            "INSERT OR IGNORE INTO series (device, sensor, village) VALUES (?, ?, ?)",
            [(d, s, village) for d in devices for s in sensors],
        )
        conn.execute("COMMIT")
        ids = [
            sid
            for (sid,) in conn.execute(
                "SELECT id FROM series WHERE device IN (SELECT value FROM json_each(?)) "
                "AND sensor IN (SELECT value FROM json_each(?)) ORDER BY id",
                (json.dumps(list(devices)), json.dumps(list(sensors))),
            )
        ]
        first = end_ms - points_per_series * step_ms
        if points_per_series < 1:
            return 0
        params = {"n": points_per_series, "first": first, "step": step_ms}
        for at in range(0, len(ids), _SERIES_PER_STATEMENT):
            chunk = ids[at : at + _SERIES_PER_STATEMENT]
            conn.execute("BEGIN")
            conn.execute(_FILL, {**params, "ids": json.dumps(chunk)})
            conn.execute("COMMIT")
        conn.execute("BEGIN")
        rebuild_latest(conn)
        conn.execute("COMMIT")
        conn.execute("PRAGMA journal_mode=WAL")
    finally:
        conn.close()
    return len(ids) * points_per_series


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--devices", type=int, default=1000)
    parser.add_argument("--points", type=int, default=10_000, help="points per series")
    parser.add_argument("--step", type=int, default=60_000, help="ms between points")
    parser.add_argument("--end-ms", type=int, help="points end before this; default now")
    args = parser.parse_args()
    if args.devices < 1 or args.points < 1 or args.step < 1:
        parser.error("--devices, --points and --step must be at least 1")
    started = time.perf_counter()
    end_ms = args.end_ms or int(time.time() * 1000) // args.step * args.step
    path = args.data_dir / "series.sqlite3"
    written = prefill(path, device_ids(args.devices), args.points, args.step, end_ms)
    elapsed = time.perf_counter() - started
    print(f"{written:,} points in {elapsed:.1f} s ({written / elapsed / 1e6:.2f} M/s) → {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
