"""The first admin, made in the browser through a one-time link printed at start.

A server with no admin yet makes a secret token at start and logs a link carrying it; whoever
can read the server's log or terminal can open it and choose the first admin's name and
password. The token lives only in this process's memory: it works once, stops working as soon
as any admin exists (one added with `village-brain users add` too), and a restart makes a new
one while there is still no admin.
"""

from __future__ import annotations

import hmac
import threading

from village_brain.auth.accounts import Account, AccountError, AccountStore
from village_brain.auth.hashing import new_secret
from village_brain.auth.roles import Role

MADE_BY_SETUP = "setup"
SETUP_PATH = "/setup"


class SetupClosed(AccountError):
    """The link was used already, is not this start's, or an admin exists by now."""


class FirstAdminSetup:
    def __init__(self, accounts: AccountStore, token: str | None = None) -> None:
        self.accounts = accounts
        self.token = token or new_secret("")
        self._used = False
        self._lock = threading.Lock()

    @classmethod
    def if_needed(cls, accounts: AccountStore) -> FirstAdminSetup | None:
        """A setup link when there is no admin yet; None when there is one."""
        return None if has_admin(accounts) else cls(accounts)

    @property
    def path(self) -> str:
        return f"{SETUP_PATH}?token={self.token}"

    def is_open(self, token: str) -> bool:
        return (
            not self._used
            and hmac.compare_digest(token.encode(), self.token.encode())
            and not has_admin(self.accounts)
        )

    def create_admin(self, token: str, name: str, password: str, now_ms: int) -> Account:
        """The first admin; SetupClosed when the link no longer works, AccountError for a
        name or password that cannot be used (the link then still works)."""
        with self._lock:
            if not self.is_open(token):
                raise SetupClosed(
                    "this setup link no longer works: it was used, it is from an earlier start, "
                    "or an admin exists already; log in instead"
                )
            self.accounts.add(name, Role.ADMIN, password, now_ms, made_by=MADE_BY_SETUP)
            self._used = True
        account = self.accounts.account(name)
        assert account is not None
        return account


def has_admin(accounts: AccountStore) -> bool:
    return any(account.role == Role.ADMIN for account in accounts.accounts())
