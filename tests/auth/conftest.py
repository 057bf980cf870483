"""An API over real stores whose gate keeps accounts, with a clock the tests move by hand."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from login_support import PASSWORD, FakeClock

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


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(scope="session")
def account_template(tmp_path_factory) -> tuple[Path, dict[Role, str]]:
    """One account and one token per role, hashed once for the run (Argon2 is slow on purpose)."""
    path = tmp_path_factory.mktemp("accounts") / "accounts.sqlite3"
    store = AccountStore(path)
    for role in Role:
        store.add(role.value, role, PASSWORD, 0)
    tokens = {role: store.add_token(role.value, 0) for role in Role}
    store.close()
    return path, tokens


@pytest.fixture
def accounts(tmp_path: Path, account_template) -> Iterator[AccountStore]:
    path = tmp_path / "accounts.sqlite3"
    shutil.copyfile(account_template[0], path)
    store = AccountStore(path)
    yield store
    store.close()


@pytest.fixture
def tokens(account_template) -> dict[Role, str]:
    return account_template[1]


@pytest.fixture
def auth_settings() -> AuthSettings:
    return AuthSettings()


@pytest.fixture
def app(
    tmp_path: Path, accounts: AccountStore, clock: FakeClock, auth_settings
) -> Iterator[FastAPI]:
    series = SqliteSeriesStore(tmp_path / "series.sqlite3")
    registry = RegistryStore(tmp_path / "registry.sqlite3")
    stats = IngestStats()
    ctx = ApiContext(default_catalog(), series, registry, lambda: stats.snapshot(0, True))
    ctx.auth = Gate.for_service(accounts, auth_settings, demo=False, clock=clock)
    yield create_app(ctx)
    # Every test opens its own databases; left open they would use up the process's files.
    series.close()
    registry.close()


@pytest.fixture
def client(app: FastAPI) -> TestClient:
    return TestClient(app)
