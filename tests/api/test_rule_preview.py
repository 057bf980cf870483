"""A rule's preview replays the stored readings of its devices: when it would have fired and
when resolved, over a real series store and a real alert engine, nothing saved."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from village_brain.alerts.engine import AlertEngine
from village_brain.api.app import create_app
from village_brain.api.context import ApiContext
from village_brain.auth.gate import Gate
from village_brain.auth.roles import Role
from village_brain.core.bus import Bus
from village_brain.core.catalog import default_catalog
from village_brain.core.config import AlertSettings
from village_brain.core.devices import Device
from village_brain.core.records import Reading
from village_brain.ingest.stats import IngestStats
from village_brain.store.registry import RegistryStore
from village_brain.store.sqlite_series import SqliteSeriesStore

HOUR = 3_600_000
NOW = 1_790_000_000_000 // HOUR * HOUR
T1 = NOW - 30 * HOUR  # the river rises over the line
T2 = NOW - 20 * HOUR  # and falls back
RULE = {
    "name": "河水超警戒",
    "severity": "major",
    "kind": "threshold",
    "sensor": "water_level",
    "above": 2.5,
    "clear_below": 2.4,
}


def river(start_ms: int, end_ms: int) -> list[Reading]:
    """A reading every ten minutes: 1.2 m, and 3.1 m from T1 until T2."""
    return [
        Reading("xiashan", "g1", "water_level", ts, 3.1 if T1 <= ts < T2 else 1.2)
        for ts in range(start_ms, end_ms, 600_000)
    ]


def client_for(tmp_path: Path, role: Role, gauges: int = 1) -> Iterator[TestClient]:
    catalog = default_catalog()
    series = SqliteSeriesStore(tmp_path / "series.sqlite3")
    registry = RegistryStore(tmp_path / "registry.sqlite3")
    others = [Device(f"g{n}", "xiashan", sensors=("water_level",)) for n in range(2, gauges + 1)]
    registry.upsert_devices([Device("g1", "xiashan", sensors=("water_level",)), *others])
    series.write(river(NOW - 3 * 24 * HOUR, NOW))
    engine = AlertEngine(
        AlertSettings(), catalog, registry, Bus(), tmp_path / "a.db", clock=lambda: NOW
    )
    stats = IngestStats()
    ctx = ApiContext(catalog, series, registry, lambda: stats.snapshot(0, True))
    ctx.alerts = engine
    ctx.auth = Gate.closed().letting_anyone(role)
    with TestClient(create_app(ctx)) as client:
        yield client
    engine.stop()
    series.close()
    registry.close()


@pytest.fixture
def operator(tmp_path: Path) -> Iterator[TestClient]:
    yield from client_for(tmp_path, Role.OPERATOR)


@pytest.fixture
def operator_of_many(tmp_path: Path) -> Iterator[TestClient]:
    yield from client_for(tmp_path, Role.OPERATOR, gauges=50)


@pytest.fixture
def viewer(tmp_path: Path) -> Iterator[TestClient]:
    yield from client_for(tmp_path, Role.VIEWER)


def test_the_preview_fires_when_the_river_rose_and_resolves_when_it_fell(operator):
    answer = operator.post("/api/v1/rules/preview", json=RULE)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    changes = [(c["action"], c["at_ms"], c["device"]) for c in body["changes"]]
    assert changes == [("fire", T1, "g1"), ("resolve", T2, "g1")]
    assert body["devices"] == ["g1"]
    assert body["readings"] == 3 * 24 * 6
    assert body["firing_at_end"] == []
    assert body["series"][0]["sensor"] == "water_level"


def test_a_breach_that_must_hold_fires_only_once_it_has_held(operator):
    answer = operator.post("/api/v1/rules/preview", json={**RULE, "for": "1h"})
    fired = [c["at_ms"] for c in answer.json()["changes"] if c["action"] == "fire"]
    assert fired == [T1 + HOUR]


def test_a_rule_still_breached_at_the_end_is_reported_firing(operator):
    answer = operator.post("/api/v1/rules/preview", json={**RULE, "above": 1.0, "clear_below": 0.9})
    assert answer.json()["firing_at_end"] == ["g1/water_level"]


def test_a_preview_saves_no_rule_and_raises_no_alert(operator):
    operator.post("/api/v1/rules/preview", json={**RULE, "id": "river_probe"})
    ids = [r["id"] for r in operator.get("/api/v1/rules").json()]
    assert "river_probe" not in ids
    assert operator.get("/api/v1/alerts").json() == []


def test_a_broken_rule_is_refused_with_words(operator):
    answer = operator.post("/api/v1/rules/preview", json={**RULE, "sensor": "moon_phase"})
    assert answer.status_code == 422
    assert "moon_phase" in answer.json()["error"]


def test_a_rule_naming_an_unknown_device_is_refused(operator):
    answer = operator.post("/api/v1/rules/preview", json={**RULE, "device": "nowhere"})
    assert answer.status_code == 422


def test_a_viewer_may_not_preview(viewer):
    assert viewer.post("/api/v1/rules/preview", json=RULE).status_code == 403


def test_a_preview_too_wide_for_its_days_is_refused_with_how_to_narrow_it(operator_of_many):
    month = operator_of_many.post("/api/v1/rules/preview?days=31", json=RULE)
    assert month.status_code == 422
    assert "50 devices" in month.json()["error"] and "fewer days" in month.json()["error"]
    assert operator_of_many.post("/api/v1/rules/preview?days=7", json=RULE).status_code == 200
    one = operator_of_many.post("/api/v1/rules/preview?days=31", json={**RULE, "device": "g1"})
    assert one.status_code == 200 and one.json()["devices"] == ["g1"]
