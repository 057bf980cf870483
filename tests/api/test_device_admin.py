"""Managing devices over the API: register, edit, approve or refuse the unknown, credentials."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient

from village_brain.broker.credentials import verify_password
from village_brain.core.records import Rejection
from village_brain.store.credentials import CredentialStore
from village_brain.store.device_tokens import DeviceTokenStore
from village_brain.store.registry import BatchRecord, RegistryStore

ADMIN = "/api/v1/device-admin"


def refuse_unknown(registry: RegistryStore, device: str, village: str, at_ms: int) -> None:
    registry.commit(
        BatchRecord(
            rejections=[
                Rejection(
                    at_ms=at_ms,
                    reason="unknown_device",
                    detail=f"device {device!r} is not registered and registration is strict",
                    topic=f"village/{village}/{device}/telemetry",
                    village=village,
                    device=device,
                    sensor=None,
                    excerpt="{}",
                )
            ]
        )
    )


def test_a_registered_device_appears_in_the_device_list(app: FastAPI) -> None:
    client = TestClient(app)
    body = {"id": "lamp-9", "village": "xiashan", "kind": "street_lamp", "place": "祠堂前"}
    made = client.post(f"{ADMIN}/devices", json=body)
    assert made.status_code == 201, made.text
    listed = {d["id"]: d for d in client.get("/api/v1/devices").json()}
    assert listed["lamp-9"]["location"]["place"] == "祠堂前"
    assert listed["lamp-9"]["registered_by"] == "api"


def test_registering_an_existing_id_is_refused(app: FastAPI) -> None:
    answer = TestClient(app).post(f"{ADMIN}/devices", json={"id": "g1", "village": "xiashan"})
    assert answer.status_code == 409
    assert "already" in answer.json()["error"]


def test_an_edit_changes_name_kind_and_position_and_keeps_the_sensors(app: FastAPI) -> None:
    client = TestClient(app)
    edit = {"village": "xiashan", "kind": "river_gauge", "name": "北桥水位", "place": "北桥",
            "lat": 30.2, "lon": 120.3}  # fmt: skip
    assert client.put(f"{ADMIN}/devices/g1", json=edit).status_code == 200
    device = client.get("/api/v1/devices/g1").json()
    assert device["name"] == "北桥水位"
    assert device["location"] == {"lat": 30.2, "lon": 120.3, "place": "北桥"}
    assert device["sensors"] == ["water_level"]


def test_a_latitude_without_a_longitude_is_refused_in_words(app: FastAPI) -> None:
    edit = {"village": "xiashan", "lat": 30.2}
    answer = TestClient(app).put(f"{ADMIN}/devices/g1", json=edit)
    assert answer.status_code == 422
    assert "both latitude and longitude" in answer.json()["error"]


def test_a_device_refused_as_unknown_is_pending_until_approved(
    app: FastAPI, stores: tuple[object, RegistryStore]
) -> None:
    registry = stores[1]
    refuse_unknown(registry, "stray-1", "dongcun", 1_700_000_000_000)
    client = TestClient(app)
    pending = client.get(f"{ADMIN}/pending").json()
    assert [(p["device"], p["village"], p["messages"]) for p in pending] == [
        ("stray-1", "dongcun", 1)
    ]
    approved = client.post(f"{ADMIN}/pending/stray-1/approve", json={"kind": "soil_probe"})
    assert approved.status_code == 201
    assert client.get("/api/v1/devices/stray-1").json()["village"] == "dongcun"
    assert client.get(f"{ADMIN}/pending").json() == []


def test_a_refused_pending_device_leaves_the_list_and_is_not_registered(
    app: FastAPI, stores: tuple[object, RegistryStore]
) -> None:
    refuse_unknown(stores[1], "stray-2", "dongcun", 1_700_000_000_000)
    client = TestClient(app)
    assert client.post(f"{ADMIN}/pending/stray-2/refuse").status_code == 204
    assert client.get(f"{ADMIN}/pending").json() == []
    assert client.get("/api/v1/devices/stray-2").status_code == 404


def test_a_new_broker_password_is_shown_once_and_kept_only_as_a_hash(
    app: FastAPI, stores: tuple[object, RegistryStore]
) -> None:
    client = TestClient(app)
    answer = client.post(f"{ADMIN}/devices/g1/mqtt-password")
    assert answer.status_code == 201
    password = answer.json()["password"]
    kept = CredentialStore(stores[1].db.path)
    try:
        stored = kept.hashes()["g1"]
    finally:
        kept.close()
    assert password not in stored and verify_password(password, stored)
    access = client.get(f"{ADMIN}/devices/g1/access").json()
    assert access["mqtt_password_issued"] is not None
    assert password not in str(access)


def test_a_device_token_can_be_made_and_revoked(
    app: FastAPI, stores: tuple[object, RegistryStore]
) -> None:
    client = TestClient(app)
    made = client.post(f"{ADMIN}/devices/g1/tokens").json()
    tokens = DeviceTokenStore(stores[1].db.path)
    try:
        assert tokens.check(made["token"]) is not None
        listed = client.get(f"{ADMIN}/devices/g1/access").json()["tokens"]
        assert [t["id"] for t in listed] == [made["id"]]
        assert client.delete(f"{ADMIN}/devices/g1/tokens/{made['id']}").status_code == 204
        assert tokens.check(made["token"]) is None
    finally:
        tokens.close()


def test_decommissioning_removes_the_device_and_its_access(
    app: FastAPI, stores: tuple[object, RegistryStore]
) -> None:
    client = TestClient(app)
    token = client.post(f"{ADMIN}/devices/g1/tokens").json()["token"]
    client.post(f"{ADMIN}/devices/g1/mqtt-password")
    assert client.delete(f"{ADMIN}/devices/g1").status_code == 204
    assert client.get("/api/v1/devices/g1").status_code == 404
    tokens = DeviceTokenStore(stores[1].db.path)
    credentials = CredentialStore(stores[1].db.path)
    try:
        assert tokens.check(token) is None
        assert "g1" not in credentials.hashes()
    finally:
        tokens.close()
        credentials.close()
