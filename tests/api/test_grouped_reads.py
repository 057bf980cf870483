"""Fleet-wide reads cost one store query however many devices there are, and long series
at a fine step are allowed."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from village_brain.api.fleet_bodies import (
    BucketBody,
    DeviceBody,
    DeviceLatestBody,
    LatestBody,
    LocationBody,
    SeriesBody,
)
from village_brain.api.schemas import (
    BucketOut,
    DeviceLatest,
    DeviceOut,
    LatestOut,
    Location,
    SeriesOut,
)
from village_brain.core.devices import Device
from village_brain.core.records import Reading
from village_brain.core.timefmt import now_ms
from village_brain.store.sqlite_series import SqliteSeriesStore

FLEET = 25
MINUTE = 60_000


@pytest.fixture
def client(app) -> TestClient:
    return TestClient(app)


@pytest.fixture
def series_queries(stores, monkeypatch) -> Iterator[list[str]]:
    """Every statement the series store's readers run, on whichever thread serves a request."""
    series: SqliteSeriesStore = stores[0]
    seen: list[str] = []
    reader = series.db.reader

    def traced():
        conn = reader()
        conn.set_trace_callback(seen.append)
        return conn

    monkeypatch.setattr(series.db, "reader", traced)
    yield seen


def register_fleet(stores, declared: bool) -> None:
    series, registry = stores
    sensors = ("water_level", "rssi") if declared else ()
    registry.upsert_devices(
        [Device(id=f"d{i}", village="xiashan", sensors=sensors) for i in range(FLEET)]
    )
    now = now_ms()
    series.write(
        [
            Reading("xiashan", f"d{i}", sensor, now - 1000 * k, i + k / 4)
            for i in range(FLEET)
            for sensor in ("water_level", "rssi")
            for k in range(3)
        ]
    )


def test_latest_of_every_device_is_one_store_query(client, stores, series_queries):
    register_fleet(stores, declared=True)
    series_queries.clear()
    answer = client.get("/api/v1/latest").json()
    assert len(series_queries) == 1
    by_device = {d["device"]: d["readings"] for d in answer}
    assert [(r["sensor"], r["value"]) for r in by_device["d7"]] == [
        ("rssi", 7.0),
        ("water_level", 7.0),
    ]
    assert by_device["g1"] == []


def test_latest_of_one_village_is_one_store_query_for_that_village(client, stores, series_queries):
    register_fleet(stores, declared=True)
    stores[1].upsert_devices([Device(id=d, village="elsewhere") for d in ("far", "further")])
    stores[0].write([Reading("elsewhere", "far", "rssi", now_ms(), -70.0)])
    series_queries.clear()
    answer = client.get("/api/v1/latest", params={"village": "elsewhere"}).json()
    assert len(series_queries) == 1
    assert [(d["device"], [r["value"] for r in d["readings"]]) for d in answer] == [
        ("far", [-70.0]),
        ("further", []),
    ]


def test_the_device_list_asks_the_store_once_for_devices_that_declare_no_sensors(
    client, stores, series_queries
):
    register_fleet(stores, declared=False)
    series_queries.clear()
    devices = client.get("/api/v1/devices").json()
    assert len(series_queries) == 1
    assert {d["id"]: d["sensors"] for d in devices}["d3"] == ["rssi", "water_level"]


def test_the_device_list_needs_no_store_query_when_every_device_declares_its_sensors(
    client, stores, series_queries
):
    register_fleet(stores, declared=True)
    series_queries.clear()
    assert len(client.get("/api/v1/devices").json()) == FLEET + 1
    assert series_queries == []


def test_a_month_at_a_one_minute_step_is_answered(client, stores):
    end = now_ms() // MINUTE * MINUTE
    start = end - 30 * 24 * 60 * MINUTE
    stores[0].write(
        [
            Reading("xiashan", "g1", "water_level", start + k * MINUTE, 1.0)
            for k in range(0, 43_200, 7)
        ]
    )
    response = client.get(
        "/api/v1/devices/g1/series/water_level",
        params={"start": str(start), "end": str(end), "step": "1m"},
    )
    assert response.status_code == 200
    assert len(response.json()["buckets"]) == len(range(0, 43_200, 7))


@pytest.mark.parametrize(
    ("model", "body"),
    [
        (DeviceOut, DeviceBody),
        (Location, LocationBody),
        (DeviceLatest, DeviceLatestBody),
        (LatestOut, LatestBody),
        (SeriesOut, SeriesBody),
        (BucketOut, BucketBody),
    ],
)
def test_the_fleet_bodies_have_the_fields_the_openapi_document_describes(model, body):
    assert list(model.model_fields) == list(body.__struct_fields__)
