"""The account store behaves the same on SQLite and on PostgreSQL: accounts, API tokens
and dashboard sessions; with PostgreSQL, two API processes share them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from village_brain.auth.accounts import AccountStore
from village_brain.auth.roles import Role

PASSWORD = "correct horse"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.integration)])
def dsn(request) -> str | None:
    return request.getfixturevalue("postgres_dsn") if request.param == "postgres" else None


@pytest.fixture
def store(dsn, tmp_path) -> Iterator[AccountStore]:
    opened = AccountStore(tmp_path / "accounts.sqlite3", postgres_dsn=dsn)
    opened.add("ana", Role.OPERATOR, PASSWORD, 0)
    yield opened
    opened.close()


def test_a_token_names_its_account_until_revoked_and_is_counted(store):
    token = store.add_token("ana", 1)
    assert store.by_token(token).name == "ana"
    assert store.token_counts() == {"ana": 1}
    assert store.revoke_tokens("ana") == 1
    assert store.by_token(token) is None


def test_a_session_names_its_account_until_it_expires_or_is_closed(store):
    session = store.open_session("ana", expires_ms=100, now_ms=0)
    assert store.by_session(session, now_ms=99).name == "ana"
    assert store.by_session(session, now_ms=100) is None
    other = store.open_session("ana", expires_ms=200, now_ms=0)
    store.close_session(other)
    assert store.by_session(other, now_ms=1) is None


def test_a_new_password_ends_the_account_s_sessions(store):
    session = store.open_session("ana", expires_ms=100, now_ms=0)
    store.set_password("ana", "another horse")
    assert store.by_session(session, now_ms=1) is None


def test_removing_an_account_takes_its_tokens_and_sessions(store):
    token = store.add_token("ana", 1)
    session = store.open_session("ana", expires_ms=100, now_ms=0)
    assert store.remove("ana") is True
    assert (store.by_token(token), store.by_session(session, now_ms=1)) == (None, None)
    assert store.token_counts() == {}


@pytest.mark.integration
@pytest.mark.cluster
def test_two_api_processes_on_postgres_share_a_login(postgres_dsn, tmp_path):
    first = AccountStore(tmp_path / "a.sqlite3", postgres_dsn=postgres_dsn)
    second = AccountStore(tmp_path / "b.sqlite3", postgres_dsn=postgres_dsn)
    try:
        first.add("ana", Role.VIEWER, PASSWORD, 0)
        session = first.open_session("ana", expires_ms=100, now_ms=0)
        assert second.by_session(session, now_ms=1).name == "ana"
        second.close_session(session)
        assert first.by_session(session, now_ms=1) is None
    finally:
        first.close()
        second.close()
