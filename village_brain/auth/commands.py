"""`village-brain users`: add, list and remove accounts, and give them API tokens.

This is how the first admin comes to be; it works on the accounts file directly, so it also
works while the server runs, and changes count from the next request on.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from village_brain.auth.accounts import AccountError, AccountStore
from village_brain.auth.roles import Role
from village_brain.core.config import ConfigError, Settings
from village_brain.core.timefmt import format_ms, now_ms
from village_brain.store.registry_open import shared_dsn

SettingsFrom = Callable[[argparse.Namespace], Settings]
ACCOUNTS_FILE = "accounts.sqlite3"


def add_users_command(commands: argparse._SubParsersAction, settings_from: SettingsFrom) -> None:
    users = commands.add_parser("users", help="people's accounts: add, list, token, remove")
    actions = users.add_subparsers(required=True, metavar="ACTION")
    add = _action(actions, "add", "add an account (password prompted, or one line of stdin)")
    add.add_argument("name")
    add.add_argument("--role", choices=[r.value for r in Role], default=Role.VIEWER.value)
    add.set_defaults(action=_add)
    _action(actions, "list", "list accounts and their roles").set_defaults(action=_list)
    token = _action(actions, "token", "print a new API token for an account (shown this once)")
    token.add_argument("name")
    token.set_defaults(action=_token)
    remove = _action(actions, "remove", "remove an account with its tokens and logins")
    remove.add_argument("name")
    remove.set_defaults(action=_remove)
    users.set_defaults(
        run=lambda args: _run(args, settings_from), mqtt_url=None, mqtt_listen=None, http=None
    )


def _action(actions: argparse._SubParsersAction, name: str, text: str) -> argparse.ArgumentParser:
    parser = actions.add_parser(name, help=text)
    parser.add_argument("--config", type=Path, help="TOML configuration file")
    parser.add_argument("--data-dir", type=Path, help="where the accounts are kept")
    return parser


def _run(args: argparse.Namespace, settings_from: SettingsFrom) -> int:
    args.demo = False
    with open_accounts(settings_from(args)) as store:
        try:
            return args.action(store, args)
        except AccountError as exc:
            raise ConfigError(str(exc)) from None


def account_store(settings: Settings) -> AccountStore:
    """The data directory's accounts file, or the shared PostgreSQL database when
    `[cluster] postgres_dsn` is set (every API process then knows the same logins)."""
    return AccountStore(
        settings.store.data_dir / ACCOUNTS_FILE,
        settings.store.sqlite_synchronous,
        postgres_dsn=shared_dsn(settings),
    )


@contextmanager
def open_accounts(settings: Settings) -> Iterator[AccountStore]:
    store = account_store(settings)
    try:
        yield store
    finally:
        store.close()


def _add(store: AccountStore, args: argparse.Namespace) -> int:
    store.add(args.name, Role(args.role), read_password(), now_ms())
    print(f"added {args.name} ({args.role})")
    return 0


def _list(store: AccountStore, _args: argparse.Namespace) -> int:
    tokens = store.token_counts()
    for account in store.accounts():
        held = tokens.get(account.name, 0)
        print(f"{account.name}\t{account.role}\t{format_ms(account.created_ms)}\t{held} tokens")
    return 0


def _token(store: AccountStore, args: argparse.Namespace) -> int:
    token = store.add_token(args.name, now_ms())
    print(token)
    print(f"(an API token for {args.name}: keep it now, it is not shown again)", file=sys.stderr)
    return 0


def _remove(store: AccountStore, args: argparse.Namespace) -> int:
    if not store.remove(args.name):
        raise ConfigError(f"there is no account {args.name!r}")
    print(f"removed {args.name}")
    return 0


def read_password() -> str:
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("password: ")
    if getpass.getpass("again: ") != first:
        raise ConfigError("the two passwords differ")
    return first
