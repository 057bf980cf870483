"""The dashboard's login: the cookie's flags, CSRF on changes, and logging out."""

from __future__ import annotations

import dataclasses

import pytest
from fastapi.testclient import TestClient
from login_support import PASSWORD, bearer, log_in

from village_brain.auth.roles import Role
from village_brain.core.config import AuthSettings

ACK = "/api/v1/alerts/1/ack"
ACK_BODY = {"comment": "王师傅 到了"}
# Without an alerts engine the route answers 404: a request that gets that far was let in.
LET_IN = 404


def login_cookie_header(client: TestClient) -> str:
    response = client.post("/api/v1/auth/login", json={"name": "viewer", "password": PASSWORD})
    return response.headers["set-cookie"]


def test_the_session_cookie_is_httponly_and_samesite_strict(client: TestClient) -> None:
    cookie = login_cookie_header(client).lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/" in cookie


def test_the_session_cookie_is_not_secure_over_plain_http_by_default(client: TestClient) -> None:
    assert "secure" not in login_cookie_header(client).lower()


def test_the_session_cookie_is_secure_when_the_login_came_over_https(app) -> None:
    client = TestClient(app, base_url="https://testserver")
    assert "; secure" in login_cookie_header(client).lower()


@pytest.mark.parametrize("auth_settings", [AuthSettings(secure_cookie="always")])
def test_the_session_cookie_can_be_made_secure_always(client: TestClient) -> None:
    assert "; secure" in login_cookie_header(client).lower()


def test_me_names_the_logged_in_account_and_its_role(client: TestClient) -> None:
    csrf = log_in(client, "operator")
    me = client.get("/api/v1/auth/me").json()
    assert (me["name"], me["role"], me["anonymous"], me["csrf_token"]) == (
        "operator",
        "operator",
        False,
        csrf,
    )


def test_a_cookie_post_without_the_csrf_header_is_refused(client: TestClient) -> None:
    log_in(client, "operator")
    response = client.post(ACK, json=ACK_BODY)
    assert response.status_code == 403
    assert "X-CSRF-Token" in response.json()["error"]


def test_a_cookie_post_with_a_wrong_csrf_token_is_refused(client: TestClient) -> None:
    log_in(client, "operator")
    assert client.post(ACK, json=ACK_BODY, headers={"X-CSRF-Token": "0" * 64}).status_code == 403


def test_a_cookie_post_with_the_csrf_header_is_let_in(client: TestClient) -> None:
    csrf = log_in(client, "operator")
    assert client.post(ACK, json=ACK_BODY, headers={"X-CSRF-Token": csrf}).status_code == LET_IN


def test_a_cookie_post_from_another_site_is_refused_even_with_the_token(client) -> None:
    csrf = log_in(client, "operator")
    headers = {"X-CSRF-Token": csrf, "Origin": "http://evil.example"}
    response = client.post(ACK, json=ACK_BODY, headers=headers)
    assert response.status_code == 403


def test_a_bearer_token_post_needs_no_csrf_header(client: TestClient, tokens) -> None:
    response = client.post(ACK, json=ACK_BODY, headers=bearer(tokens[Role.OPERATOR]))
    assert response.status_code == LET_IN


def test_a_login_posted_from_another_site_is_refused(client: TestClient) -> None:
    body = {"name": "admin", "password": PASSWORD}
    response = client.post("/api/v1/auth/login", json=body, headers={"Origin": "null"})
    assert response.status_code == 403


def test_a_wrong_password_gets_401_without_saying_which_part_was_wrong(client) -> None:
    for name in ("admin", "nobody"):
        response = client.post("/api/v1/auth/login", json={"name": name, "password": "wrong-one"})
        assert (response.status_code, response.json()) == (401, {"error": "wrong name or password"})


def test_logging_out_ends_the_session(client: TestClient) -> None:
    csrf = log_in(client, "viewer")
    assert client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf}).status_code == 204
    assert client.get("/api/v1/auth/me").status_code == 401


def test_a_stolen_cookie_is_useless_after_logout(client: TestClient, app) -> None:
    csrf = log_in(client, "viewer")
    stolen = client.cookies.get("vb_session")
    client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf})
    thief = TestClient(app, cookies={"vb_session": stolen})
    assert thief.get("/api/v1/devices").status_code == 401


def test_a_session_ends_after_its_lifetime(client: TestClient, app) -> None:
    log_in(client, "viewer")
    gate = app.state.ctx.auth
    later = gate.wall_ms() + gate.session_lifetime_s * 1000 + 1
    app.state.ctx.auth = dataclasses.replace(gate, wall_ms=lambda: later)
    assert client.get("/api/v1/devices").status_code == 401


@pytest.mark.parametrize("auth_settings", [AuthSettings(anonymous_view=True)])
def test_anonymous_viewing_lets_strangers_read_but_not_act(client: TestClient) -> None:
    assert client.get("/api/v1/devices").status_code == 200
    assert client.get("/api/v1/auth/me").json()["anonymous"] is True
    assert client.post(ACK, json=ACK_BODY).status_code == 403
