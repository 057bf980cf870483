"""HTTP ingest through a running service: the promises MQTT makes, kept over HTTP."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from datetime import UTC, datetime

import cbor2
import pytest
from test_poison_messages import POISON, REASONS

from village_brain.auth.roles import Role
from village_brain.core.timefmt import now_ms

from harness import RunningService
from support.waiting import wait_until

pytestmark = pytest.mark.integration

URL = "/api/v1/ingest/{}/{}/telemetry"
CHIRPSTACK = {"adapter": "chirpstack", "name": "lora", "village": "xiashan"}


def device_token(running: RunningService, device: str, village: str = "xiashan") -> str:
    _, token = running.service.device_tokens.issue("device", village, device, now_ms())
    return token


def gateway_token(running: RunningService, village: str = "xiashan") -> str:
    return running.service.device_tokens.issue("gateway", village, None, now_ms())[1]


def post(running: RunningService, device: str, body: bytes | str, token: str, **headers: str):
    headers = {"Authorization": f"Bearer {token}", **headers}
    return running.api.post(URL.format("xiashan", device), content=body, headers=headers)


def native(ts_ms: int, **values: float) -> str:
    return json.dumps({"ts": ts_ms, "values": values})


@pytest.fixture
def gateway(running: RunningService) -> str:
    return gateway_token(running)


def test_the_answer_comes_only_once_the_reading_is_committed(running, gateway):
    response = post(running, "g1", native(now_ms(), water_level=1.25), gateway)
    assert response.status_code == 200, response.text
    assert response.json() == {"readings_accepted": 1, "rejections": []}
    # No waiting: the 200 itself means stored.
    assert running.stored() == 1 and running.latest("g1") == {"water_level": 1.25}


SENML = json.dumps([{"bn": "x:", "n": "water_level", "u": "m", "v": 2.5}])


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/json", native(0, water_level=2.5)),
        ("application/senml+json", SENML),
        ("application/senml+cbor", cbor2.dumps([{2: 2.5, 0: "water_level", 1: "m"}])),
        ("text/plain", "gauge water_level=2.5"),
    ],
    ids=["native", "senml-json", "senml-cbor", "line-protocol"],
)
def test_the_content_type_selects_the_format(running, gateway, content_type, body):
    if content_type == "application/json":
        body = native(now_ms(), water_level=2.5)
    response = post(running, "g1", body, gateway, **{"Content-Type": content_type})
    assert response.status_code == 200, response.text
    assert running.latest("g1") == {"water_level": 2.5}


def test_line_protocol_times_are_nanoseconds(running, gateway):
    ts_ms = now_ms() - 60_000
    body = f"gauge water_level=1.5 {ts_ms * 1_000_000}\n"
    assert post(running, "g1", body, gateway, **{"Content-Type": "text/plain"}).status_code == 200
    latest = running.api.get("/api/v1/devices/g1/latest").json()["readings"]
    assert latest[0]["ts_ms"] == ts_ms


def test_every_rejection_is_in_the_422_and_the_good_readings_are_kept(running, gateway):
    body = json.dumps({"values": {"water_level": 1.0, "nonsense": 3, "air_humidity": 250}})
    response = post(running, "g1", body, gateway)
    assert response.status_code == 422
    answer = response.json()
    assert answer["readings_accepted"] == 1
    assert sorted(r["reason"] for r in answer["rejections"]) == ["out_of_range", "unknown_sensor"]
    assert all(r["detail"] for r in answer["rejections"])
    assert running.latest("g1") == {"water_level": 1.0}
    assert {r["reason"] for r in running.rejections()} == {"out_of_range", "unknown_sensor"}


TELEMETRY_POISON = sorted(name for name, (where, _, _) in POISON.items() if where == "telemetry")


@pytest.mark.parametrize("name", TELEMETRY_POISON)
def test_each_poison_body_is_refused_with_its_reason_and_ingest_goes_on(running, gateway, name):
    response = post(running, "g1", POISON[name][1], gateway)
    assert response.status_code == 422, response.text
    assert REASONS[name] in {r["reason"] for r in response.json()["rejections"]}
    assert post(running, "g1", native(now_ms(), water_level=1.0), gateway).status_code == 200
    assert running.api.get("/healthz").json()["writer_restarts"] == 0


def test_a_body_over_the_size_limit_is_413_and_counted(start_service):
    running = start_service(ingest={"max_payload_bytes": 1024})
    body = native(now_ms(), water_level=1.0) + " " * 5000
    response = post(running, "g1", body, gateway_token(running))
    assert response.status_code == 413
    assert [r["reason"] for r in response.json()["rejections"]] == ["payload_too_large"]
    assert running.rejections()[0]["reason"] == "payload_too_large"


def test_the_flood_guard_answers_429_with_retry_after(start_service):
    running = start_service(ingest={"flood_factor": 0.0001, "flood_min_readings": 2})
    token = gateway_token(running)
    start = now_ms() - 10_000
    batch = {"batch": [{"ts": start + i, "values": {"water_level": 1.0}} for i in range(3)]}
    response = post(running, "g1", json.dumps(batch), token)
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0
    assert response.json()["readings_accepted"] == 2
    assert [r["reason"] for r in response.json()["rejections"]] == ["rate_limited"]


def test_a_repeated_post_is_stored_once(running, gateway):
    body = native(now_ms(), water_level=1.0)
    assert post(running, "g1", body, gateway).status_code == 200
    assert post(running, "g1", body, gateway).status_code == 200
    assert running.service.stats.snapshot(0, True, 60).readings_duplicate == 1


def test_strict_registration_refuses_unknown_devices(start_service):
    running = start_service(ingest={"registration": "strict"})
    response = post(running, "stranger", native(now_ms(), water_level=1.0), gateway_token(running))
    assert response.status_code == 422
    assert response.json()["rejections"][0]["reason"] == "unknown_device"


def test_without_a_device_token_the_post_is_401(running):
    response = running.api.post(URL.format("xiashan", "g1"), content=native(now_ms(), rssi=-70))
    assert response.status_code == 401
    assert "device token" in response.json()["error"]


def test_a_persons_api_token_cannot_post_readings(start_service):
    running = start_service(anyone_as=None)
    running.service.accounts.add("ops", Role.ADMIN, "a long password", now_ms())
    person = running.service.accounts.add_token("ops", now_ms())
    assert post(running, "g1", native(now_ms(), rssi=-70), person).status_code == 401


def test_a_device_token_cannot_read_the_api(start_service):
    running = start_service(anyone_as=None)
    token = gateway_token(running)
    response = running.api.get("/api/v1/devices", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401


def test_a_device_token_posts_for_its_own_device_only(running):
    token = device_token(running, "g1")
    assert post(running, "g1", native(now_ms(), rssi=-70), token).status_code == 200
    assert post(running, "g2", native(now_ms(), rssi=-70), token).status_code == 403


def test_a_gateway_token_posts_for_its_village_only(running, gateway):
    assert post(running, "any-device", native(now_ms(), rssi=-70), gateway).status_code == 200
    headers = {"Authorization": f"Bearer {gateway}"}
    other = running.api.post(URL.format("dongcun", "d1"), content="{}", headers=headers)
    assert other.status_code == 403


def test_a_revoked_token_is_refused_from_the_next_request(running):
    token_id, token = running.service.device_tokens.issue("gateway", "xiashan", None, now_ms())
    assert running.service.device_tokens.revoke(token_id, now_ms())
    assert post(running, "g1", native(now_ms(), rssi=-70), token).status_code == 401


def test_admins_see_the_tokens_but_never_the_tokens_themselves(running, gateway):
    device_token(running, "g1")
    listed = running.api.get("/api/v1/device-tokens")
    assert listed.status_code == 200
    kinds = [(t["kind"], t["device"]) for t in listed.json()]
    assert kinds == [("gateway", None), ("device", "g1")]
    assert gateway not in listed.text and "vbd_" not in listed.text


def chirpstack_uplink(dev_eui: str, temperature: float) -> str:
    time = datetime.now(UTC).isoformat()
    return json.dumps(
        {
            "time": time,
            "deviceInfo": {"devEui": dev_eui, "deviceName": "pump-house"},
            "object": {"Tem": temperature},
            "rxInfo": [{"gatewayId": "0016c001f153a14c", "rssi": -90, "snr": 3.5}],
        }
    )


def test_a_chirpstack_webhook_body_is_read_by_its_source(start_service):
    running = start_service(ingest={"sources": [CHIRPSTACK]})
    headers = {"Authorization": f"Bearer {gateway_token(running)}"}
    response = running.api.post(
        "/api/v1/ingest/webhooks/lora?event=up",
        content=chirpstack_uplink("0004a30b00f1c2d3", 21.5),
        headers=headers,
    )
    assert response.status_code == 200, response.text
    assert running.latest("0004a30b00f1c2d3")["air_temperature"] == 21.5


def test_a_webhook_may_not_speak_for_another_villages_devices(start_service):
    running = start_service(ingest={"sources": [CHIRPSTACK]})
    headers = {"Authorization": f"Bearer {gateway_token(running, 'dongcun')}"}
    response = running.api.post(
        "/api/v1/ingest/webhooks/lora?event=up",
        content=chirpstack_uplink("0004a30b00f1c2d3", 21.5),
        headers=headers,
    )
    assert response.status_code == 422
    assert [r["reason"] for r in response.json()["rejections"]] == ["not_allowed"]
    assert running.latest("0004a30b00f1c2d3") == {}


def test_a_source_not_configured_for_webhooks_is_404(running, gateway):
    headers = {"Authorization": f"Bearer {gateway}"}
    response = running.api.post("/api/v1/ingest/webhooks/nope", content="{}", headers=headers)
    assert response.status_code == 404


def test_a_post_not_committed_in_time_is_503_with_retry_after_and_stays_queued(start_service):
    running = start_service(ingest={"http_wait": "1s"})
    series = running.service.settings.store.data_dir / "series.sqlite3"
    with closing(sqlite3.connect(series, timeout=30)) as lock:
        lock.execute("BEGIN IMMEDIATE")  # the store cannot commit while this is held
        response = post(running, "g1", native(now_ms(), water_level=1.0), gateway_token(running))
        assert response.status_code == 503
        assert int(response.headers["Retry-After"]) > 0 and "again" in response.json()["error"]
        lock.rollback()
    wait_until(lambda: running.stored() == 1, what="the queued reading to be committed")
