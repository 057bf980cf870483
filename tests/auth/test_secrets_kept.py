"""Passwords, tokens and session ids are stored hashed and never shown again or logged."""

from __future__ import annotations

import logging
from pathlib import Path

from fastapi.testclient import TestClient
from login_support import PASSWORD, bearer, log_in

from village_brain.api.auth_redact import shown_url
from village_brain.auth.accounts import AccountStore
from village_brain.auth.roles import Role


def stored_bytes(directory: Path) -> bytes:
    return b"".join(p.read_bytes() for p in directory.glob("accounts.sqlite3*"))


def test_the_database_holds_no_password_token_or_session_id(
    client: TestClient, accounts: AccountStore, tmp_path: Path
) -> None:
    accounts.add("wang", Role.OPERATOR, "plain-text-never", 0)
    token = accounts.add_token("wang", 0)
    log_in(client, "wang", "plain-text-never")
    session = client.cookies.get("vb_session")
    kept = stored_bytes(tmp_path)
    for secret in ("plain-text-never", token, session):
        assert secret.encode() not in kept
    assert b"$argon2id$" in kept


def test_a_token_is_shown_once_and_never_listed(client: TestClient, tokens) -> None:
    admin = bearer(tokens[Role.ADMIN])
    made = client.post("/api/v1/users/viewer/tokens", headers=admin).json()["token"]
    listing = client.get("/api/v1/users", headers=admin).text
    assert made.startswith("vbt_") and made not in listing and "argon2" not in listing


def test_logins_leave_no_password_in_the_log(client: TestClient, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    client.post("/api/v1/auth/login", json={"name": "admin", "password": "wrong-guess-42"})
    log_in(client, "admin")
    assert "wrong-guess-42" not in caplog.text and PASSWORD not in caplog.text
    assert client.cookies.get("vb_session") not in caplog.text


def test_a_password_typed_into_the_name_field_is_not_logged(client: TestClient, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    for _ in range(2):
        client.post("/api/v1/auth/login", json={"name": "Meadow-Lark-93", "password": "x"})
    assert "Meadow-Lark-93" not in caplog.text
    # A tag, the same for the same name, still shows that one thing was tried twice.
    [first, second] = [r.getMessage() for r in caplog.records if "unknown name" in r.message]
    assert first == second


def test_a_failed_login_to_an_account_names_the_account(client: TestClient, caplog) -> None:
    caplog.set_level(logging.WARNING)
    client.post("/api/v1/auth/login", json={"name": "operator", "password": "wrong-guess-42"})
    assert "'operator'" in caplog.text and "unknown name" not in caplog.text


def test_error_messages_do_not_echo_a_rejected_token(client: TestClient) -> None:
    response = client.get("/api/v1/devices", headers=bearer("vbt_secret-looking-guess"))
    assert "secret-looking-guess" not in response.text


def test_robot_keys_are_hidden_from_a_webhook_as_listed() -> None:
    assert shown_url("https://oapi.dingtalk.com/robot/send?access_token=abc", "dingtalk") == (
        "https://oapi.dingtalk.com/robot/send?access_token=…"
    )
    assert shown_url("https://open.feishu.cn/open-apis/bot/v2/hook/k-1", "feishu") == (
        "https://open.feishu.cn/open-apis/bot/v2/hook/…"
    )
    assert shown_url("https://user:pw@hooks.example/in", "standard") == "https://hooks.example/in"
