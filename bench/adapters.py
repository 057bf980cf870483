"""What each device-family adapter costs, against our native format, in one run.

Every family's documented samples (tests/fixtures/adapters/<family>.toml) are cycled into a
backlog of N messages and put through the ingest pipeline in-process — the adapter, then the
same checks as native readings — beside a native backlog of the same size (4 readings a
message, as bench/ingest.py sends). The broker and the store cost the same whatever the
family, so they are left out: the difference here is all the adapter's. Rounds alternate
families and native, and the median round is shown.

Run:  .venv/bin/python bench/adapters.py --help
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import tomllib
from pathlib import Path

from village_brain.core.catalog import default_catalog
from village_brain.ingest.codecs import default_registry
from village_brain.ingest.pipeline import DeviceDirectory, InboundMessage, Limits, Pipeline
from village_brain.ingest.sources.router import build_sources
from village_brain.ingest.validate import TimeWindow

FIXTURES = Path(__file__).parents[1] / "tests" / "fixtures" / "adapters"
NATIVE_SENSORS = ("water_level", "battery_voltage", "rssi", "air_temperature")
FAR_MS = 36_500 * 86_400_000  # fixture samples keep their sources' times, years back


def _pipeline(tables: list[dict]) -> Pipeline:
    catalog = default_catalog()
    limits = Limits(65_536, 1000, TimeWindow(FAR_MS, FAR_MS))
    directory = DeviceDirectory({}, auto_register=True)
    sources = build_sources(tables, catalog)
    return Pipeline(catalog, default_registry(catalog), directory, limits, None, sources)


def _payload(message: dict) -> bytes:
    if "payload_hex" in message:
        return bytes.fromhex(message["payload_hex"])
    return message["payload"].encode()


def family_backlog(family: str, count: int, now_ms: int) -> tuple[list[dict], list]:
    fixture = tomllib.loads((FIXTURES / f"{family}.toml").read_text("utf-8"))
    samples = [
        InboundMessage(m["topic"], _payload(m), now_ms, m.get("content_type"))
        for m in fixture["message"]
    ]
    return [fixture["source"]], [samples[i % len(samples)] for i in range(count)]


def native_backlog(count: int, now_ms: int) -> list[InboundMessage]:
    backlog = []
    for i in range(count):
        values = {sensor: 1.0 + (i % 50) / 100 for sensor in NATIVE_SENSORS}
        body = json.dumps({"values": values}).encode()
        backlog.append(InboundMessage(f"village/xiashan/gauge-{i % 100}/telemetry", body, now_ms))
    return backlog


def timed(tables: list[dict], backlog: list[InboundMessage]) -> tuple[float, int]:
    """Seconds to process the backlog with a fresh pipeline, and the readings it kept."""
    pipeline = _pipeline(tables)
    readings = 0
    started = time.perf_counter()
    for msg in backlog:
        readings += len(pipeline.process(msg).readings)
    return time.perf_counter() - started, readings


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=5_000, help="backlog per round")
    parser.add_argument("--rounds", type=int, default=5, help="alternated rounds per family")
    parser.add_argument("--family", action="append", help="only these families (repeatable)")
    args = parser.parse_args()
    families = args.family or sorted(p.stem for p in FIXTURES.glob("*.toml"))
    now_ms = time.time_ns() // 1_000_000
    native = native_backlog(args.messages, now_ms)
    print(f"{args.messages:,} messages a round, {args.rounds} rounds, median shown\n")
    print(f"{'source':<14} {'msg/s':>9} {'readings/s':>11} {'µs/msg':>7} {'vs native':>10}")
    for family in families:
        tables, backlog = family_backlog(family, args.messages, now_ms)
        ours, theirs = [], []
        for _ in range(args.rounds):
            ours.append(timed([], native))
            theirs.append(timed(tables, backlog))
        native_s = statistics.median(s for s, _ in ours)
        family_s = statistics.median(s for s, _ in theirs)
        readings = theirs[0][1]
        print(
            f"{family:<14} {args.messages / family_s:>9,.0f} {readings / family_s:>11,.0f} "
            f"{family_s / args.messages * 1e6:>7.1f} {native_s / family_s:>9.2f}×"
        )
    native_s = statistics.median(timed([], native)[0] for _ in range(args.rounds))
    print(
        f"{'native':<14} {args.messages / native_s:>9,.0f} "
        f"{args.messages * len(NATIVE_SENSORS) / native_s:>11,.0f} "
        f"{native_s / args.messages * 1e6:>7.1f} {1:>9.2f}×"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
