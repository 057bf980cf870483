"""The first admin is made through the one-time link a server without an admin logs at start."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from login_support import PASSWORD

from village_brain.api.app import create_app
from village_brain.api.context import ApiContext
from village_brain.auth.accounts import AccountStore
from village_brain.auth.gate import Gate
from village_brain.auth.roles import Role
from village_brain.auth.setup import FirstAdminSetup
from village_brain.core.catalog import default_catalog
from village_brain.core.config import AuthSettings
from village_brain.ingest.stats import IngestStats
from village_brain.store.registry import RegistryStore
from village_brain.store.sqlite_series import SqliteSeriesStore


@pytest.fixture
def empty_accounts(tmp_path: Path) -> Iterator[AccountStore]:
    store = AccountStore(tmp_path / "accounts.sqlite3")
    yield store
    store.close()


@pytest.fixture
def setup(empty_accounts: AccountStore) -> FirstAdminSetup:
    found = FirstAdminSetup.if_needed(empty_accounts)
    assert found is not None
    return found


@pytest.fixture
def client(tmp_path: Path, empty_accounts: AccountStore, setup: FirstAdminSetup) -> Iterator:
    series = SqliteSeriesStore(tmp_path / "series.sqlite3")
    registry = RegistryStore(tmp_path / "registry.sqlite3")
    stats = IngestStats()
    ctx = ApiContext(default_catalog(), series, registry, lambda: stats.snapshot(0, True))
    ctx.auth = Gate.for_service(empty_accounts, AuthSettings(), demo=False, setup=setup)
    yield TestClient(create_app(ctx))
    series.close()
    registry.close()


def make_admin(client: TestClient, token: str, name: str = "zhang.wei", password: str = PASSWORD):
    return client.post(
        "/api/v1/auth/setup", json={"token": token, "name": name, "password": password}
    )


def test_the_setup_link_makes_an_admin_and_logs_them_in(client, setup, empty_accounts) -> None:
    assert client.get("/api/v1/auth/setup", params={"token": setup.token}).json() == {"open": True}
    made = make_admin(client, setup.token)
    assert made.status_code == 201, made.text
    assert made.json()["role"] == "admin"
    account = empty_accounts.account("zhang.wei")
    assert account is not None and account.role == Role.ADMIN
    assert client.get("/api/v1/auth/me").json()["name"] == "zhang.wei"


def test_the_setup_link_works_only_once(client, setup, empty_accounts) -> None:
    assert make_admin(client, setup.token).status_code == 201
    again = make_admin(TestClient(client.app), setup.token, name="intruder")
    assert again.status_code == 410
    assert empty_accounts.account("intruder") is None
    assert client.get("/api/v1/auth/setup", params={"token": setup.token}).json() == {"open": False}


def test_a_wrong_token_makes_no_account(client, empty_accounts) -> None:
    assert make_admin(client, "guessed").status_code == 410
    assert empty_accounts.accounts() == []


def test_a_too_short_password_is_refused_in_words_and_the_link_still_works(client, setup) -> None:
    short = make_admin(client, setup.token, password="short")
    assert short.status_code == 422
    assert "at least 8 characters" in short.json()["error"]
    assert make_admin(client, setup.token).status_code == 201


def test_an_admin_added_from_the_command_line_closes_the_link(client, setup, empty_accounts):
    empty_accounts.add("li.na", Role.ADMIN, PASSWORD, 0)
    assert make_admin(client, setup.token).status_code == 410


def test_a_server_that_has_an_admin_offers_no_setup_link(empty_accounts) -> None:
    empty_accounts.add("li.na", Role.ADMIN, PASSWORD, 0)
    assert FirstAdminSetup.if_needed(empty_accounts) is None


def test_a_viewer_alone_is_not_an_admin_so_the_link_is_offered(empty_accounts) -> None:
    empty_accounts.add("wang.fang", Role.VIEWER, PASSWORD, 0)
    assert FirstAdminSetup.if_needed(empty_accounts) is not None


def test_the_setup_page_keeps_its_link_out_of_referers(client, setup) -> None:
    page = client.get(f"/setup?token={setup.token}")
    assert page.status_code == 200
    assert page.headers["referrer-policy"] == "no-referrer"
    assert 'id="setup-form"' in page.text


def test_the_login_page_says_whom_to_ask_for_an_account(client) -> None:
    page = client.get("/login").text
    assert "请向这个服务器的管理员要一个" in page
