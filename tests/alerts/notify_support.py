"""An alert engine on real SQLite stores and the real clock, sending to real receivers: what
the notification tests drive, without a broker (the engine sees what ingest committed)."""

from __future__ import annotations

import itertools
from collections import Counter
from pathlib import Path
from typing import Any

from receivers import Receiver

from village_brain.alerts.engine import AlertEngine
from village_brain.alerts.records import Mention, Webhook
from village_brain.alerts.signing import new_secret
from village_brain.core.bus import Bus
from village_brain.core.catalog import default_catalog
from village_brain.core.config import AlertSettings
from village_brain.core.devices import Device
from village_brain.core.records import Reading
from village_brain.core.timefmt import now_ms
from village_brain.store.registry import BatchRecord, RegistryStore

# A warning and a danger line on the river, both without a `for`, and a battery rule.
RULES = """
[[rule]]
id = "river_warning"
name = "河道水位超警戒线"
severity = "major"
kind = "threshold"
sensor = "water_level"
above = 2.5
clear_below = 2.4

[[rule]]
id = "river_danger"
name = "河道水位超危险线"
severity = "critical"
kind = "threshold"
sensor = "water_level"
above = 3.2
clear_below = 3.1

[[rule]]
id = "battery_low"
name = "电池电量低"
severity = "minor"
kind = "threshold"
sensor = "battery_voltage"
below = 3.3
clear_above = 3.4
"""
_ids = itertools.count(1)


def open_engine(tmp_path: Path, **notify: Any) -> AlertEngine:
    rules = tmp_path / "rules.toml"
    if not rules.exists():
        rules.write_text(RULES, "utf-8")
    settings = AlertSettings(
        rules_file=rules,
        allow_private_targets=True,
        retry_first="100ms",
        retry_max="300ms",
        delivery_timeout="10s",
        dashboard_url="https://village.example",
        notify={"group_wait": "0s", **notify},
    )
    registry = RegistryStore(tmp_path / "registry.sqlite3")
    registry.upsert_devices([Device("gauge-1", "xiashan", name="石桥水位站", place="北桥")])
    return AlertEngine(
        settings, default_catalog(), registry, Bus(), tmp_path / "alerts.sqlite3", "normal"
    )


def channel(
    engine: AlertEngine,
    receiver: Receiver,
    kind: str = "standard",
    name: str = "",
    mentions: tuple[Mention, ...] = (),
    **fields: Any,
) -> Webhook:
    secret = new_secret() if kind == "standard" else ""
    hook = Webhook(
        f"wh_{next(_ids)}", receiver.url, kind, secret, now_ms(), name, mentions=mentions, **fields
    )  # type: ignore[arg-type]
    return engine.add_webhook(hook)


def read(engine: AlertEngine, device: str, sensor: str, value: float, village: str = "xiashan"):
    engine.on_batch([Reading(village, device, sensor, now_ms(), value)], BatchRecord())


def keys_posted(receiver: Receiver) -> Counter[str]:
    """How often each outbox row was carried by a post to this receiver."""
    counted: Counter[str] = Counter()
    for request in receiver.received:
        if "x-village-brain-delivery" in request.headers:
            counted.update(request.headers["x-village-brain-delivery"].split())
        else:
            counted[request.headers["webhook-id"]] += 1
    return counted


def text_of(request: Any) -> str:
    body = request.json()
    if "markdown" in body:
        return body["markdown"].get("text") or body["markdown"].get("content")
    if "text" in body and isinstance(body["text"], dict):
        return body["text"]["content"]
    return body["content"]["text"]
