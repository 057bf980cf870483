"""Grafana dashboards for the InfluxDB backend, and reading the InfluxQL they run.

The JSON files in `dashboards/` are provisioned as they are (see docs/influxdb.md);
`queries` lists every statement a dashboard sends, so they can be checked against a
real server.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DASHBOARD_DIR = Path(__file__).parent / "dashboards"
PROVISIONING_DIR = Path(__file__).parent / "provisioning"

Dashboard = dict[str, Any]


@dataclass(frozen=True)
class Query:
    dashboard: str  # uid
    source: str  # "panel <title>" or "variable <name>"
    text: str


def dashboards() -> dict[str, Dashboard]:
    """Every dashboard, by uid."""
    found = (json.loads(p.read_text(encoding="utf-8")) for p in DASHBOARD_DIR.glob("*.json"))
    return {d["uid"]: d for d in found}


def queries(dashboard: Dashboard) -> Iterator[Query]:
    uid = dashboard["uid"]
    for variable in dashboard.get("templating", {}).get("list", []):
        if variable.get("type") == "query":
            yield Query(uid, f"variable {variable['name']}", variable["query"])
    for panel in _panels(dashboard.get("panels", [])):
        for target in panel.get("targets", []):
            yield Query(uid, f"panel {panel['title']}", target["query"])


def _panels(panels: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    # Rows hold their panels when collapsed; flatten them so none is missed.
    for panel in panels:
        yield panel
        yield from _panels(panel.get("panels", []))
