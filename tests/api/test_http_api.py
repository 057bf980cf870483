"""The HTTP API over a real embedded store."""

import pytest
from fastapi.testclient import TestClient

from village_brain.core.records import Reading, Rejection
from village_brain.core.timefmt import now_ms
from village_brain.store.registry import BatchRecord, RegistryStore

HOUR = 3_600_000


@pytest.fixture
def client(app):
    return TestClient(app)


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


HUGE = "99999999999999999999"


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"start": HUGE}, "start: 99999999999999999999 is out of range"),
        ({"end": HUGE}, "end: 99999999999999999999 is out of range"),
        ({"start": "-" + HUGE}, "start: -99999999999999999999 is out of range"),
        ({"start": "0001-01-01T00:00:00+01:00"}, "start: 0001-01-01T00:00:00+01:00 is out of"),
        ({"step": HUGE + "s"}, "too long a duration"),
        ({"step": "9" * 30 + "ms"}, "too long a duration"),
        ({"step": "400d"}, "wider than the widest step, 366d"),
        ({"start": "²"}, "start: '²' is not an RFC 3339 time"),
    ],
)
def test_out_of_range_series_parameters_are_a_400_saying_what_to_fix(client, params, words):
    response = client.get("/api/v1/devices/g1/series/water_level", params=params)
    assert response.status_code == 400
    assert words in response.json()["error"]


@pytest.mark.parametrize(
    "params", [{"start": "9" * 400}, {"step": "9" * 400 + "s"}, {"end": "x" * 5000}]
)
def test_overlong_series_parameters_are_a_422_naming_the_parameter(client, params):
    response = client.get("/api/v1/devices/g1/series/water_level", params=params)
    assert response.status_code == 422
    assert f"query {next(iter(params))}: String should have at most" in response.json()["error"]


@pytest.mark.parametrize(
    ("path", "where"),
    [
        ("/api/v1/devices/G%201", "path device"),
        ("/api/v1/devices/" + "g" * 65 + "/latest", "path device"),
        ("/api/v1/devices/g1/series/Water%0Alevel", "path sensor"),
        ("/api/v1/devices?village=Xia%20Shan", "query village"),
        ("/api/v1/ingest/rejections?device=" + HUGE * 4, "query device"),
    ],
)
def test_an_id_outside_the_id_rule_is_a_422_naming_it(client, path, where):
    response = client.get(path)
    assert response.status_code == 422
    assert response.json()["error"].startswith(f"{where}: String should match pattern")


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


def store_event_row(registry: RegistryStore, ts_ms: int, data_json: str) -> None:
    """Writes a row as an older version of the ingest could have, past today's checks."""
    with registry.db.transaction() as conn:
        conn.execute(
            "INSERT INTO events (village, device, ts_ms, type, data) VALUES (?, ?, ?, ?, ?)",
            ("xiashan", "g1", ts_ms, "door", data_json),
        )


def test_events_show_their_data(client, stores):
    store_event_row(stores[1], 1_000, '{"open": true, "by": ["key", 2]}')
    [event] = client.get("/api/v1/devices/g1/events").json()
    assert event["data"] == {"open": True, "by": ["key", 2]}
    assert event["data_text"] is None


def test_an_event_stored_too_deeply_nested_is_shown_as_text_beside_the_others(client, stores):
    deep = '{"a": ' + "[" * 100_000 + "]" * 100_000 + "}"
    store_event_row(stores[1], 1_000, deep)
    store_event_row(stores[1], 2_000, '{"open": true}')
    response = client.get("/api/v1/devices/g1/events")
    assert response.status_code == 200
    newer, older = response.json()
    assert newer["data"] == {"open": True}
    assert older["data"] == {} and older["data_text"].startswith('{"a": [[[[')
    assert older["data_text"].endswith("(198,007 more characters)")
