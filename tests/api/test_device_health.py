"""A device's health in the API: ok, reporting but refused, offline or unknown, over a real store.

The gauge g1 reports water_level every 5 minutes, so it is silent after 15.
"""

import pytest
from fastapi.testclient import TestClient

from village_brain.core.records import Rejection
from village_brain.core.timefmt import now_ms
from village_brain.store.registry import BatchRecord

MIN = 60_000


@pytest.fixture
def client(app):
    return TestClient(app)


@pytest.fixture
def registry(stores):
    return stores[1]


def refused(at_ms: int, reason: str = "unknown_unit") -> Rejection:
    return Rejection(at_ms, reason, "detail", "village/xiashan/g1/telemetry", "xiashan", "g1")


def test_a_device_whose_messages_are_all_refused_is_reporting_but_refused(client, registry):
    at = now_ms() - MIN
    registry.commit(BatchRecord(seen={"g1": at}, rejections=[refused(at, "unknown_unit")]))
    device = client.get("/api/v1/devices/g1").json()
    assert (device["health"], device["online"]) == ("refused", True)
    assert (device["last_refused_ms"], device["last_refused_reason"]) == (at, "unknown_unit")
    assert device["last_stored_ms"] is None


def test_a_device_refused_since_its_last_stored_message_is_reporting_but_refused(client, registry):
    registry.commit(BatchRecord(seen={"g1": now_ms() - 5 * MIN}, stored={"g1": now_ms() - 5 * MIN}))
    registry.commit(BatchRecord(seen={"g1": now_ms()}, rejections=[refused(now_ms())]))
    [device] = client.get("/api/v1/devices").json()
    assert device["health"] == "refused"


def test_a_device_stored_again_after_a_refusal_is_ok(client, registry):
    registry.commit(
        BatchRecord(seen={"g1": now_ms() - 2 * MIN}, rejections=[refused(now_ms() - 2 * MIN)])
    )
    at = now_ms()
    registry.commit(BatchRecord(seen={"g1": at}, stored={"g1": at}))
    device = client.get("/api/v1/devices/g1").json()
    assert (device["health"], device["last_stored_ms"]) == ("ok", at)
    assert device["last_refused_reason"] == "unknown_unit"  # still shown, as history


def test_a_device_refused_longer_ago_than_its_silence_limit_is_offline(client, registry):
    at = now_ms() - 20 * MIN
    registry.commit(BatchRecord(seen={"g1": at}, rejections=[refused(at)]))
    device = client.get("/api/v1/devices/g1").json()
    assert (device["health"], device["online"]) == ("offline", False)


def test_a_registered_device_never_heard_from_has_unknown_health(client):
    device = client.get("/api/v1/devices/g1").json()
    assert (device["health"], device["online"], device["last_refused_ms"]) == (
        "unknown",
        False,
        None,
    )


def test_the_openapi_document_names_every_health_word(client):
    schema = client.get("/openapi.json").json()["components"]["schemas"]["DeviceOut"]
    assert set(schema["properties"]["health"]["enum"]) == {"ok", "refused", "offline", "unknown"}
