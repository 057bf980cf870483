"""Every route in the OpenAPI document is guarded by the role this table gives it.

A route added without a line here fails the first test, so none can be left open by mistake.
The requests here only read or are refused before they reach a route, so the module shares
one app: building one per request was most of this file's time.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from login_support import FakeClock, bearer

from village_brain.api.app import create_app
from village_brain.api.context import ApiContext
from village_brain.auth.accounts import AccountStore
from village_brain.auth.gate import Gate
from village_brain.auth.roles import Role
from village_brain.core.catalog import default_catalog
from village_brain.core.config import AuthSettings
from village_brain.ingest.stats import IngestStats
from village_brain.store.registry import RegistryStore
from village_brain.store.sqlite_series import SqliteSeriesStore

PUBLIC = {
    ("GET", "/healthz"),
    ("POST", "/api/v1/auth/login"),
    ("POST", "/api/v1/auth/logout"),
    # Guarded by the one-time setup token instead (tests/auth/test_first_admin_setup.py).
    ("GET", "/api/v1/auth/setup"),
    ("POST", "/api/v1/auth/setup"),
    # Villagers report without an account (tests/reports): limited per address and phone.
    ("GET", "/api/v1/public/reports/form"),
    ("POST", "/api/v1/public/reports"),
    ("GET", "/api/v1/public/reports/mine"),
    ("GET", "/api/v1/public/reports/photos/{photo_id}"),
    ("GET", "/open311/v2/services.{fmt}"),
    ("GET", "/open311/v2/services/{service_code}.{fmt}"),
    ("GET", "/open311/v2/requests.{fmt}"),
    ("POST", "/open311/v2/requests.{fmt}"),
    ("GET", "/open311/v2/requests/{service_request_id}.{fmt}"),
    # For villagers before they report: numbers, categories and statuses, nothing personal.
    ("GET", "/api/v1/public/reports/nearby"),
}
# Devices post with a device token, never a person's role (tests/integration/test_http_ingest).
BY_DEVICE_TOKEN = {
    ("POST", "/api/v1/ingest/{village}/{device}/telemetry"),
    ("POST", "/api/v1/ingest/webhooks/{source}"),
}
VIEW, ACT, ADMIN = Role.VIEWER, Role.OPERATOR, Role.ADMIN
NEEDS = {
    ("GET", "/api/v1/auth/me"): VIEW,
    ("GET", "/api/v1/devices"): VIEW,
    ("GET", "/api/v1/devices/{device}"): VIEW,
    ("GET", "/api/v1/devices/{device}/latest"): VIEW,
    ("GET", "/api/v1/devices/{device}/series/{sensor}"): VIEW,
    ("GET", "/api/v1/devices/{device}/events"): VIEW,
    ("GET", "/api/v1/latest"): VIEW,
    ("GET", "/api/v1/live"): VIEW,
    ("GET", "/api/v1/sensor-types"): VIEW,
    ("GET", "/api/v1/ingest/stats"): VIEW,
    ("GET", "/api/v1/ingest/rejections"): VIEW,
    ("GET", "/api/v1/alerts"): VIEW,
    ("GET", "/api/v1/alerts/{alert_id}"): VIEW,
    ("GET", "/api/v1/alerts/{alert_id}/timeline"): VIEW,
    ("POST", "/api/v1/alerts/{alert_id}/ack"): ACT,
    ("POST", "/api/v1/alerts/{alert_id}/unack"): ACT,
    ("POST", "/api/v1/alerts/{alert_id}/resolve"): ACT,
    ("POST", "/api/v1/alerts/{alert_id}/assign"): ACT,
    ("POST", "/api/v1/alerts/{alert_id}/unassign"): ACT,
    ("GET", "/api/v1/silences"): ACT,
    ("GET", "/api/v1/silences/{silence_id}"): ACT,
    ("POST", "/api/v1/silences"): ACT,
    ("POST", "/api/v1/silences/{silence_id}/expire"): ACT,
    # Thresholds are drawn on every viewer's charts; changing them is for admins.
    ("GET", "/api/v1/rules"): VIEW,
    ("GET", "/api/v1/rules/{rule_id}"): VIEW,
    ("POST", "/api/v1/rules"): ADMIN,
    ("POST", "/api/v1/rules/preview"): ACT,
    ("PUT", "/api/v1/rules/{rule_id}"): ADMIN,
    ("DELETE", "/api/v1/rules/{rule_id}"): ADMIN,
    ("GET", "/api/v1/webhooks"): ADMIN,
    ("POST", "/api/v1/webhooks"): ADMIN,
    ("GET", "/api/v1/webhooks/{webhook_id}"): ADMIN,
    ("DELETE", "/api/v1/webhooks/{webhook_id}"): ADMIN,
    ("PUT", "/api/v1/webhooks/{webhook_id}"): ADMIN,
    ("PATCH", "/api/v1/webhooks/{webhook_id}"): ADMIN,
    ("POST", "/api/v1/webhooks/{webhook_id}/test"): ADMIN,
    ("POST", "/api/v1/deliveries/{delivery_id}/resend"): ADMIN,
    ("GET", "/api/v1/deliveries"): ADMIN,
    ("GET", "/api/v1/users"): ADMIN,
    ("POST", "/api/v1/users"): ADMIN,
    ("DELETE", "/api/v1/users/{name}"): ADMIN,
    ("POST", "/api/v1/users/{name}/tokens"): ADMIN,
    ("DELETE", "/api/v1/users/{name}/tokens"): ADMIN,
    ("GET", "/api/v1/device-tokens"): ADMIN,
    ("PUT", "/api/v1/users/{name}/role"): ADMIN,
    ("PUT", "/api/v1/users/{name}/password"): ADMIN,
    ("DELETE", "/api/v1/users/{name}/sessions"): ADMIN,
    ("PUT", "/api/v1/account/password"): VIEW,
    ("GET", "/api/v1/devices/{device}/series/{sensor}/csv"): VIEW,
    ("GET", "/api/v1/device-admin/pending"): ADMIN,
    ("POST", "/api/v1/device-admin/pending/{device}/approve"): ADMIN,
    ("POST", "/api/v1/device-admin/pending/{device}/refuse"): ADMIN,
    ("POST", "/api/v1/device-admin/devices"): ADMIN,
    ("PUT", "/api/v1/device-admin/devices/{device}"): ADMIN,
    ("DELETE", "/api/v1/device-admin/devices/{device}"): ADMIN,
    ("GET", "/api/v1/device-admin/devices/{device}/access"): ADMIN,
    ("POST", "/api/v1/device-admin/devices/{device}/mqtt-password"): ADMIN,
    ("POST", "/api/v1/device-admin/devices/{device}/tokens"): ADMIN,
    ("DELETE", "/api/v1/device-admin/devices/{device}/tokens/{token_id}"): ADMIN,
    ("POST", "/api/v1/devices/{device}/commands"): ACT,
    ("GET", "/api/v1/devices/{device}/commands"): VIEW,
    ("GET", "/api/v1/devices/{device}/controls"): VIEW,
    ("GET", "/api/v1/commands/{command}"): VIEW,
    ("GET", "/api/v1/work/{item_id}/similar"): VIEW,
    ("GET", "/api/v1/similar/groups"): VIEW,
    ("POST", "/api/v1/work/{item_id}/merge"): ACT,
    ("POST", "/api/v1/similar/work-order"): ACT,
    ("GET", "/api/v1/hotspots"): VIEW,
    ("GET", "/api/v1/hotspots/csv"): VIEW,
    # The work queue: viewers read it (without villagers' names and phones), operators work it.
    ("GET", "/api/v1/work"): VIEW,
    ("GET", "/api/v1/work/directory"): VIEW,
    ("GET", "/api/v1/work/{item_id}"): VIEW,
    ("POST", "/api/v1/work/from-alert/{alert_id}"): ACT,
    ("POST", "/api/v1/work/{item_id}/triage"): ACT,
    ("POST", "/api/v1/work/{item_id}/assign"): ACT,
    ("POST", "/api/v1/work/{item_id}/claim"): ACT,
    ("POST", "/api/v1/work/{item_id}/start"): ACT,
    ("POST", "/api/v1/work/{item_id}/close"): ACT,
    ("POST", "/api/v1/work/{item_id}/reopen"): ACT,
    ("POST", "/api/v1/work/{item_id}/notes"): ACT,
    ("POST", "/api/v1/work/{item_id}/replies"): ACT,
    ("POST", "/api/v1/work/{item_id}/link"): ACT,
}
ROLES = [VIEW, ACT, ADMIN]
GUARDED = sorted(NEEDS, key=lambda route: (route[1], route[0]))


@pytest.fixture(scope="module")
def app(tmp_path_factory, account_template: tuple[Path, dict[Role, str]]) -> Iterator[FastAPI]:
    tmp = tmp_path_factory.mktemp("guards")
    shutil.copyfile(account_template[0], tmp / "accounts.sqlite3")
    accounts = AccountStore(tmp / "accounts.sqlite3")
    series = SqliteSeriesStore(tmp / "series.sqlite3")
    registry = RegistryStore(tmp / "registry.sqlite3")
    stats = IngestStats()
    ctx = ApiContext(default_catalog(), series, registry, lambda: stats.snapshot(0, True))
    ctx.auth = Gate.for_service(accounts, AuthSettings(), demo=False, clock=FakeClock())
    yield create_app(ctx)
    series.close()
    registry.close()
    accounts.close()


@pytest.fixture(scope="module")
def client(app: FastAPI) -> TestClient:
    return TestClient(app)


def call(client: TestClient, method: str, path: str, **kwargs: object):
    return client.request(method, re.sub(r"\{\w+\}", "1", path), **kwargs)


def test_every_route_in_the_openapi_document_is_public_or_has_a_role(app) -> None:
    documented = {
        (method.upper(), path)
        for path, operations in app.openapi()["paths"].items()
        for method in operations
    }
    unguarded = documented - PUBLIC - BY_DEVICE_TOKEN - set(NEEDS)
    assert unguarded == set(), "give these routes a role in NEEDS"
    assert set(NEEDS) | PUBLIC | BY_DEVICE_TOKEN <= documented


@pytest.mark.parametrize(("method", "path"), GUARDED)
def test_a_caller_who_shows_nothing_gets_401(client: TestClient, method: str, path: str) -> None:
    response = call(client, method, path)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize(("method", "path"), GUARDED)
def test_an_unknown_token_gets_401(client: TestClient, method: str, path: str) -> None:
    assert call(client, method, path, headers=bearer("vbt_guessed")).status_code == 401


@pytest.mark.parametrize(
    ("method", "path", "role"),
    [(m, p, r) for (m, p), needed in NEEDS.items() for r in ROLES[: ROLES.index(needed)]],
)
def test_a_role_below_the_one_needed_gets_403(
    client: TestClient, tokens: dict[Role, str], method: str, path: str, role: Role
) -> None:
    response = call(client, method, path, headers=bearer(tokens[role]))
    assert response.status_code == 403
    assert NEEDS[(method, path)].value in response.json()["error"]


@pytest.mark.parametrize(
    ("method", "path"), [r for r in GUARDED if r[0] == "GET" and r[1] != "/api/v1/live"]
)
def test_the_role_needed_gets_past_the_guard(
    client: TestClient, tokens: dict[Role, str], method: str, path: str
) -> None:
    response = call(client, method, path, headers=bearer(tokens[NEEDS[(method, path)]]))
    assert response.status_code not in (401, 403)


def test_healthz_tells_a_stranger_only_that_it_is_up(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}


def test_healthz_tells_a_viewer_how_ingest_is_doing(client, tokens) -> None:
    body = client.get("/healthz", headers=bearer(tokens[Role.VIEWER])).json()
    assert body["status"] == "ok" and "pending_messages" in body
