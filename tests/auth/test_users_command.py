"""`village-brain users`: the first admin comes from the command line."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from village_brain.auth.accounts import AccountStore
from village_brain.auth.hashing import password_matches
from village_brain.auth.roles import Role
from village_brain.cli import main


def users(tmp_path: Path, *args: str, stdin: str = "") -> int:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("sys.stdin", io.StringIO(stdin))
        return main(["users", *args, "--data-dir", str(tmp_path)])


def open_store(tmp_path: Path) -> AccountStore:
    return AccountStore(tmp_path / "accounts.sqlite3")


def test_users_add_makes_the_first_admin_with_the_password_from_stdin(tmp_path) -> None:
    assert users(tmp_path, "add", "root", "--role", "admin", stdin="village-first\n") == 0
    store = open_store(tmp_path)
    assert store.account("root").role == Role.ADMIN
    assert password_matches(store.password_hash("root"), "village-first")
    store.close()


def test_users_token_prints_a_token_that_names_the_account(tmp_path, capsys) -> None:
    users(tmp_path, "add", "script", stdin="long-enough\n")
    capsys.readouterr()
    assert users(tmp_path, "token", "script") == 0
    token = capsys.readouterr().out.strip()
    store = open_store(tmp_path)
    assert store.by_token(token).name == "script"
    store.close()


def test_users_list_shows_names_and_roles(tmp_path, capsys) -> None:
    users(tmp_path, "add", "duty", "--role", "operator", stdin="long-enough\n")
    users(tmp_path, "list")
    assert "duty\toperator" in capsys.readouterr().out


def test_users_remove_deletes_the_account(tmp_path) -> None:
    users(tmp_path, "add", "gone", stdin="long-enough\n")
    assert users(tmp_path, "remove", "gone") == 0
    store = open_store(tmp_path)
    assert store.account("gone") is None
    store.close()


def test_a_short_password_is_refused_with_a_reason(tmp_path, capsys) -> None:
    assert users(tmp_path, "add", "weak", stdin="short\n") == 2
    assert "at least 8 characters" in capsys.readouterr().err
