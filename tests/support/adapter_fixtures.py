"""An adapter fixture file's messages and what they give, in the terms of its `expect` lists.

A message's outcome is every reading (checked against the catalog, so in its canonical
unit), presence and event its translation gives, shaped like the fixture's expect entries;
problems of any kind are returned beside it by reason.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterator
from pathlib import Path

from village_brain.core.catalog import default_catalog
from village_brain.core.records import Reading
from village_brain.ingest.sources.base import Adapter, Translation
from village_brain.ingest.sources.registry import build_adapter
from village_brain.ingest.validate import TimeWindow, check_reading

FIXTURES = Path(__file__).parents[1] / "fixtures" / "adapters"
# Fixtures keep the times their sources gave, years back: no window refuses them here.
_ANY_TIME = TimeWindow(max_clock_skew_ms=10**15, max_backfill_ms=10**15)


def load_fixture(family: str) -> dict:
    return tomllib.loads((FIXTURES / f"{family}.toml").read_text("utf-8"))


def fixture_adapter(fixture: dict) -> Adapter:
    return build_adapter(dict(fixture["source"]), default_catalog(), "fixture [source]")


def message_payload(message: dict) -> bytes:
    if "payload_hex" in message:
        return bytes.fromhex(message["payload_hex"])
    return message["payload"].encode("utf-8")


def outcome(translation: Translation, received_ms: int) -> tuple[list[dict], list[str]]:
    """What the translation gives as expect-style entries, and the reasons of its problems."""
    catalog = default_catalog()
    entries: list[dict] = []
    reasons = [p.reason for p in translation.problems]
    for report in translation.reports:
        reasons += [p.reason for p in report.problems]
        for raw in report.readings:
            checked = check_reading(
                raw, catalog, report.village, report.device, received_ms, _ANY_TIME
            )
            if not isinstance(checked, Reading):
                reasons.append(checked.reason)
                continue
            entry = {"device": report.device, "sensor": checked.sensor, "value": checked.value}
            if raw.ts_ms is not None:
                entry["ts_ms"] = raw.ts_ms
            entries.append(entry)
        if report.presence is not None:
            entries.append({"device": report.device, "presence": report.presence})
        if report.event is not None:
            event = {"device": report.device, "event": report.event.type}
            if report.event.ts_ms is not None:
                event["ts_ms"] = report.event.ts_ms
            entries.append(event)
    return entries, reasons


def canonical(entries: list[dict]) -> list[tuple]:
    """Entries in an order-free form; values rounded so float arithmetic cannot differ."""
    shaped = []
    for entry in entries:
        value = entry.get("value")
        shaped.append(
            tuple(
                sorted(
                    {**entry, "value": round(value, 9)}.items()
                    if isinstance(value, float | int)
                    else entry.items()
                )
            )
        )
    return sorted(shaped)


_HOSTILE: list[object] = [
    None,
    "",
    "x" * 300,
    True,
    -1.5e308,
    10**400,
    float("nan"),
    [],
    {},
    [[[]]],
]


def mutations(payload: bytes) -> Iterator[bytes]:
    """The JSON payload with each value in it, in turn, replaced by each of a set of hostile ones.

    An adapter's translate must answer every one of them without raising.
    """
    document = json.loads(payload)
    for path in _paths(document):
        for hostile in _HOSTILE:
            yield json.dumps(_replaced(document, path, hostile)).encode()


def _paths(node: object, path: tuple = ()) -> Iterator[tuple]:
    yield path
    if isinstance(node, dict):
        for key, child in node.items():
            yield from _paths(child, (*path, key))
    elif isinstance(node, list):
        for index, child in enumerate(node):
            yield from _paths(child, (*path, index))


def _replaced(node: object, path: tuple, value: object) -> object:
    if not path:
        return value
    copy = dict(node) if isinstance(node, dict) else list(node)  # type: ignore[call-overload]
    copy[path[0]] = _replaced(copy[path[0]], path[1:], value)
    return copy


RECEIVED_MS = 1_795_939_200_000


def outcomes(adapter: Adapter, message: dict) -> list[dict]:
    """One message's entries, plus a `{"refused": reason}` entry for each problem."""
    translation = adapter.translate(
        message["topic"], message_payload(message), RECEIVED_MS, message.get("content_type")
    )
    entries, reasons = outcome(translation, RECEIVED_MS)
    return entries + [{"refused": reason} for reason in reasons]
