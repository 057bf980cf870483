"""Admins manage accounts through the API; tokens work at once and can be revoked."""

from __future__ import annotations

from fastapi.testclient import TestClient
from login_support import bearer, log_in

from village_brain.auth.roles import Role


def test_an_account_an_admin_adds_can_log_in_with_its_role(client: TestClient, tokens) -> None:
    body = {"name": "李会计", "role": "operator", "password": "ledger-2026"}
    made = client.post("/api/v1/users", json=body, headers=bearer(tokens[Role.ADMIN]))
    assert made.status_code == 201 and made.json()["role"] == "operator"
    log_in(client, "李会计", "ledger-2026")
    assert client.get("/api/v1/auth/me").json()["role"] == "operator"


def test_adding_an_existing_name_is_a_409(client: TestClient, tokens) -> None:
    body = {"name": "viewer", "role": "admin", "password": "takeover-1"}
    assert (
        client.post("/api/v1/users", json=body, headers=bearer(tokens[Role.ADMIN])).status_code
        == 409
    )


def test_a_new_token_works_and_revoking_ends_it(client: TestClient, tokens) -> None:
    admin = bearer(tokens[Role.ADMIN])
    token = client.post("/api/v1/users/viewer/tokens", headers=admin).json()["token"]
    assert client.get("/api/v1/devices", headers=bearer(token)).status_code == 200
    assert client.delete("/api/v1/users/viewer/tokens", headers=admin).status_code == 204
    assert client.get("/api/v1/devices", headers=bearer(token)).status_code == 401


def test_removing_an_account_ends_its_tokens(client: TestClient, tokens) -> None:
    admin = bearer(tokens[Role.ADMIN])
    assert client.delete("/api/v1/users/operator", headers=admin).status_code == 204
    assert client.get("/api/v1/devices", headers=bearer(tokens[Role.OPERATOR])).status_code == 401


def test_the_last_admin_cannot_be_removed(client: TestClient, tokens) -> None:
    response = client.delete("/api/v1/users/admin", headers=bearer(tokens[Role.ADMIN]))
    assert response.status_code == 409 and "last admin" in response.json()["error"]
