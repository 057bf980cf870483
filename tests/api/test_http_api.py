"""The HTTP API over a real embedded store."""

import pytest
from fastapi.testclient import TestClient

from village_brain.api.app import create_app
from village_brain.api.context import ApiContext
from village_brain.auth.gate import Gate
from village_brain.auth.roles import Role
from village_brain.core.catalog import default_catalog
from village_brain.core.devices import Device
from village_brain.core.records import Reading, Rejection
from village_brain.core.timefmt import now_ms
from village_brain.ingest.stats import IngestStats
from village_brain.store.registry import BatchRecord, RegistryStore
from village_brain.store.sqlite_series import SqliteSeriesStore

HOUR = 3_600_000


@pytest.fixture
def stores(tmp_path):
    series = SqliteSeriesStore(tmp_path / "series.sqlite3")
    registry = RegistryStore(tmp_path / "registry.sqlite3")
    yield series, registry
    series.close()
    registry.close()


@pytest.fixture
def client(stores):
    series, registry = stores
    stats = IngestStats()
    ctx = ApiContext(default_catalog(), series, registry, lambda: stats.snapshot(0, True))
    # Who may call is tests/auth's subject; here anyone is let in.
    ctx.auth = Gate.closed().letting_anyone(Role.ADMIN)
    registry.upsert_devices(
        [
            Device(
                id="g1",
                village="xiashan",
                kind="river_gauge",
                place="北桥河岸",
                lat=30.1,
                lon=120.2,
                sensors=("water_level",),
            )
        ]
    )
    return TestClient(create_app(ctx))


def test_healthz_answers_ok(client):
    assert client.get("/healthz").json()["status"] == "ok"


def test_openapi_docs_are_served(client):
    assert client.get("/docs").status_code == 200
    assert "/api/v1/devices" in client.get("/openapi.json").json()["paths"]


def test_devices_list_location_and_presence(client, stores):
    stores[1].commit(BatchRecord(seen={"g1": now_ms()}))
    [device] = client.get("/api/v1/devices").json()
    assert device["location"] == {"lat": 30.1, "lon": 120.2, "place": "北桥河岸"}
    assert device["online"] is True
    assert device["last_seen"].endswith("Z")


def test_devices_filter_by_village(client):
    assert client.get("/api/v1/devices", params={"village": "elsewhere"}).json() == []


def test_latest_gives_value_unit_and_age(client, stores):
    stores[0].write([Reading("xiashan", "g1", "water_level", now_ms() - 5000, 1.5)])
    [reading] = client.get("/api/v1/devices/g1/latest").json()["readings"]
    assert reading["value"] == 1.5 and reading["unit"] == "m"
    assert 4 <= reading["age_s"] < 60


def test_an_unknown_device_is_a_404_with_a_message(client):
    response = client.get("/api/v1/devices/nobody/latest")
    assert response.status_code == 404
    assert response.json() == {"error": "no device 'nobody' is registered"}


def test_series_returns_buckets_for_the_range_and_step(client, stores):
    base = (now_ms() // HOUR - 2) * HOUR
    stores[0].write(
        [Reading("xiashan", "g1", "water_level", base + i * 60_000, float(i)) for i in range(120)]
    )
    body = client.get(
        "/api/v1/devices/g1/series/water_level",
        params={"start": str(base), "end": str(base + 2 * HOUR), "step": "1h"},
    ).json()
    assert [(b["min"], b["max"], b["count"], b["last"]) for b in body["buckets"]] == [
        (0.0, 59.0, 60, 59.0),
        (60.0, 119.0, 60, 119.0),
    ]


def test_series_accepts_rfc3339_times(client):
    response = client.get(
        "/api/v1/devices/g1/series/water_level",
        params={"start": "2026-11-28T00:00:00+08:00", "end": "2026-11-29T00:00:00Z", "step": "5m"},
    )
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"start": "yesterday"}, "start:"),
        ({"step": "5 minutes"}, "step:"),
        ({"step": "1s", "start": "0", "end": "86400000"}, "buckets"),
        ({"start": "2000", "end": "1000"}, "start must be before end"),
    ],
)
def test_bad_series_parameters_are_a_400_saying_what_to_fix(client, params, words):
    response = client.get("/api/v1/devices/g1/series/water_level", params=params)
    assert response.status_code == 400
    assert words in response.json()["error"]


def test_a_sensor_type_not_in_the_catalog_is_a_404(client):
    assert client.get("/api/v1/devices/g1/series/nonsense").status_code == 404


def test_sensor_types_list_the_catalog_with_units(client):
    types = {t["id"]: t for t in client.get("/api/v1/sensor-types").json()}
    assert types["water_level"]["unit"] == "m"
    assert "cm" in types["water_level"]["accepted_units"]
    assert len(types) >= 19


def test_rejections_are_listed_with_reason_and_excerpt(client, stores):
    stores[1].commit(
        BatchRecord(
            rejections=[
                Rejection(
                    1, "bad_json", "not JSON", "village/x/g1/telemetry", "x", "g1", None, "{oops"
                )
            ]
        )
    )
    [rejection] = client.get("/api/v1/ingest/rejections").json()
    assert rejection["reason"] == "bad_json" and rejection["excerpt"] == "{oops"


def test_a_bad_limit_is_a_4xx_not_a_500(client):
    response = client.get("/api/v1/ingest/rejections", params={"limit": "many"})
    assert response.status_code == 422
    assert "limit" in response.json()["error"]


def test_stats_report_counts(client):
    body = client.get("/api/v1/ingest/stats").json()
    assert body["readings_stored"] == 0 and body["broker_connected"] is True
