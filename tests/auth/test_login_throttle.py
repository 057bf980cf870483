"""Failed logins are limited per account and per client address, on a clock moved by hand."""

from __future__ import annotations

import dataclasses

import pytest
from fastapi.testclient import TestClient
from login_support import PASSWORD

from village_brain.auth.login_queue import LoginQueue
from village_brain.core.config import AuthSettings

LIMITED = AuthSettings(
    login_window="15m", login_failures_per_account=3, login_failures_per_address=5
)
pytestmark = pytest.mark.parametrize("auth_settings", [LIMITED])


def attempt(client: TestClient, name: str, password: str = "not-the-one"):
    return client.post("/api/v1/auth/login", json={"name": name, "password": password})


def fail(client: TestClient, name: str, times: int) -> None:
    for _ in range(times):
        assert attempt(client, name).status_code == 401


def test_the_attempt_after_the_limit_gets_429_with_retry_after(client: TestClient) -> None:
    fail(client, "operator", 3)
    response = attempt(client, "operator")
    assert response.status_code == 429
    assert 0 < int(response.headers["Retry-After"]) <= 15 * 60
    assert "try again in" in response.json()["error"]


def test_the_right_password_is_refused_while_locked(client: TestClient) -> None:
    fail(client, "operator", 3)
    assert attempt(client, "operator", PASSWORD).status_code == 429


def test_logging_in_works_again_once_the_window_has_passed(client: TestClient, clock) -> None:
    fail(client, "operator", 3)
    clock.advance(15 * 60 + 1)
    assert attempt(client, "operator", PASSWORD).status_code == 200


def test_retry_after_counts_down_with_the_clock(client: TestClient, clock) -> None:
    fail(client, "operator", 3)
    clock.advance(600)
    assert attempt(client, "operator").headers["Retry-After"] == "300"


def test_one_address_guessing_at_many_accounts_is_locked_out(client: TestClient) -> None:
    for name in ("viewer", "operator", "admin", "ghost", "nobody"):
        fail(client, name, 1)
    assert attempt(client, "someone-else").status_code == 429


def test_a_locked_account_does_not_lock_out_other_accounts(client: TestClient) -> None:
    fail(client, "operator", 3)
    assert attempt(client, "viewer", PASSWORD).status_code == 200


def test_a_good_login_clears_the_accounts_count(client: TestClient) -> None:
    fail(client, "operator", 2)
    assert attempt(client, "operator", PASSWORD).status_code == 200
    fail(client, "operator", 2)
    assert attempt(client, "operator", PASSWORD).status_code == 200


def test_logins_beyond_those_under_way_get_429_and_cost_no_failure(app, client) -> None:
    """A full login queue refuses at once, without checking, and so without counting."""
    gate = app.state.ctx.auth
    app.state.ctx.auth = dataclasses.replace(gate, queue=LoginQueue(0))
    for _ in range(5):
        response = attempt(client, "operator")
        assert response.status_code == 429
        assert response.headers["Retry-After"] == "1"
        assert "too many logins at once" in response.json()["error"]
    app.state.ctx.auth = gate
    assert attempt(client, "operator", PASSWORD).status_code == 200
