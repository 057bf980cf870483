"""Admins change roles and passwords and end logins; everyone changes their own password."""

from __future__ import annotations

from fastapi.testclient import TestClient
from login_support import PASSWORD, bearer, log_in

from village_brain.auth.roles import Role


def test_a_changed_role_applies_to_the_accounts_next_request(client: TestClient, tokens) -> None:
    admin = bearer(tokens[Role.ADMIN])
    changed = client.put("/api/v1/users/viewer/role", json={"role": "operator"}, headers=admin)
    assert changed.status_code == 200 and changed.json()["role"] == "operator"
    me = client.get("/api/v1/auth/me", headers=bearer(tokens[Role.VIEWER])).json()
    assert me["role"] == "operator"


def test_the_last_admin_cannot_be_demoted(client: TestClient, tokens) -> None:
    admin = bearer(tokens[Role.ADMIN])
    answer = client.put("/api/v1/users/admin/role", json={"role": "viewer"}, headers=admin)
    assert answer.status_code == 409 and "last admin" in answer.json()["error"]


def test_a_reset_password_works_and_ends_the_old_logins(client: TestClient, tokens) -> None:
    log_in(client, "viewer")
    reset = client.put(
        "/api/v1/users/viewer/password",
        json={"password": "new-river-8"},
        headers=bearer(tokens[Role.ADMIN]),
    )
    assert reset.status_code == 204
    assert client.get("/api/v1/auth/me").status_code == 401
    log_in(client, "viewer", "new-river-8")


def test_ending_an_accounts_sessions_logs_it_out_everywhere(client: TestClient, tokens) -> None:
    log_in(client, "operator")
    ended = client.delete("/api/v1/users/operator/sessions", headers=bearer(tokens[Role.ADMIN]))
    assert ended.status_code == 204
    assert client.get("/api/v1/auth/me").status_code == 401


def test_only_admins_may_change_roles(client: TestClient, tokens) -> None:
    answer = client.put(
        "/api/v1/users/viewer/role",
        json={"role": "admin"},
        headers=bearer(tokens[Role.OPERATOR]),
    )
    assert answer.status_code == 403


def test_one_changes_ones_own_password_with_the_current_one(client: TestClient) -> None:
    csrf = log_in(client, "viewer")
    answer = client.put(
        "/api/v1/account/password",
        json={"current": PASSWORD, "new": "my-own-way-9"},
        headers={"X-CSRF-Token": csrf},
    )
    assert answer.status_code == 204
    log_in(client, "viewer", "my-own-way-9")


def test_a_wrong_current_password_changes_nothing(client: TestClient) -> None:
    csrf = log_in(client, "viewer")
    answer = client.put(
        "/api/v1/account/password",
        json={"current": "not-it-at-all", "new": "my-own-way-9"},
        headers={"X-CSRF-Token": csrf},
    )
    assert answer.status_code == 403
    log_in(client, "viewer")


def test_device_management_is_for_admins_only(client: TestClient, tokens) -> None:
    for role in (Role.VIEWER, Role.OPERATOR):
        answer = client.get("/api/v1/device-admin/pending", headers=bearer(tokens[role]))
        assert answer.status_code == 403
    answer = client.get("/api/v1/device-admin/pending", headers=bearer(tokens[Role.ADMIN]))
    assert answer.status_code == 200
