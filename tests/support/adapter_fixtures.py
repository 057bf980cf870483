"""Adapter fixture files (tests/fixtures/adapters/<family>.toml), read and replayed in-process.

Replaying a message runs its source's adapter and then the same catalog checks the pipeline
runs, so an adapter's unit tests can hold each file's `expect` entries to exactly what ingest
would store: canonical units, converted values and times.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from village_brain.core.catalog import default_catalog
from village_brain.core.records import Reading
from village_brain.ingest.sources.base import Adapter
from village_brain.ingest.sources.registry import build_adapter
from village_brain.ingest.validate import TimeWindow, check_reading

FIXTURES = Path(__file__).parents[1] / "fixtures" / "adapters"
RECEIVED_MS = 1_795_939_200_000
# Fixture samples are years old; the replay checks values and times, not the backfill limit.
_ANY_TIME = TimeWindow(max_clock_skew_ms=10**15, max_backfill_ms=10**15)


def load_fixture(family: str) -> dict[str, Any]:
    return tomllib.loads((FIXTURES / f"{family}.toml").read_text("utf-8"))


def fixture_adapter(fixture: dict[str, Any]) -> Adapter:
    return build_adapter(dict(fixture["source"]), default_catalog(), "fixture [source]")


def message_payload(message: dict[str, Any]) -> bytes:
    if "payload_hex" in message:
        return bytes.fromhex(message["payload_hex"])
    return message["payload"].encode("utf-8")


def outcomes(adapter: Adapter, message: dict[str, Any]) -> list[dict[str, Any]]:
    """What the API would show for one message, in the fixture's `expect` form; a refused
    reading or message shows as an entry with its `refused` reason."""
    translation = adapter.translate(
        message["topic"], message_payload(message), RECEIVED_MS, message.get("content_type")
    )
    shown: list[dict[str, Any]] = [{"refused": p.reason} for p in translation.problems]
    catalog = default_catalog()
    for report in translation.reports:
        if report.presence:
            shown.append({"device": report.device, "presence": report.presence})
        shown += [{"device": report.device, "refused": p.reason} for p in report.problems]
        for raw in report.readings:
            checked = check_reading(
                raw, catalog, report.village, report.device, RECEIVED_MS, _ANY_TIME
            )
            if not isinstance(checked, Reading):
                shown.append({"device": report.device, "refused": checked.reason})
                continue
            entry = {"device": report.device, "sensor": checked.sensor, "value": checked.value}
            if raw.ts_ms is not None:
                entry["ts_ms"] = checked.ts_ms
            shown.append(entry)
    return shown
