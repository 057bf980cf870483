"""Who is asking: a token, a dashboard session, or nobody; and logging in, throttled."""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from village_brain.auth.accounts import Account, AccountStore
from village_brain.auth.hashing import digest, log_tag, password_matches, spend_like_a_check
from village_brain.auth.login_queue import LoginBusy, LoginQueue
from village_brain.auth.roles import Role
from village_brain.auth.setup import FirstAdminSetup
from village_brain.auth.throttle import Attempt, LoginThrottle, LoginThrottled
from village_brain.core.config import AuthSettings
from village_brain.core.timefmt import now_ms, parse_duration_ms

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Principal:
    name: str | None
    role: Role
    session: str | None = None

    @property
    def anonymous(self) -> bool:
        return self.name is None


class LoginRefused(Exception):
    """Wrong name or password; which of the two is not said."""


__all__ = ["Gate", "LoginBusy", "LoginRefused", "LoginThrottled", "Principal", "csrf_token"]


@dataclass(frozen=True)
class Gate:
    accounts: AccountStore | None
    settings: AuthSettings
    anonymous_role: Role | None = None
    throttle: LoginThrottle | None = None
    wall_ms: Callable[[], int] = now_ms
    queue: LoginQueue = field(default_factory=LoginQueue)
    setup: FirstAdminSetup | None = None  # while there is no admin yet: the one-time link

    @classmethod
    def closed(cls) -> Gate:
        """No accounts and no anonymous access: every protected request is refused."""
        return cls(None, AuthSettings())

    @classmethod
    def for_service(
        cls,
        accounts: AccountStore,
        settings: AuthSettings,
        demo: bool,
        clock: Callable[[], float] = time.monotonic,
        setup: FirstAdminSetup | None = None,
    ) -> Gate:
        anonymous = settings.anonymous_view if settings.anonymous_view is not None else demo
        throttle = LoginThrottle(
            parse_duration_ms(settings.login_window) / 1000,
            settings.login_failures_per_account,
            settings.login_failures_per_address,
            clock,
        )
        return cls(accounts, settings, Role.VIEWER if anonymous else None, throttle, setup=setup)

    def letting_anyone(self, role: Role | None) -> Gate:
        """The same gate with callers who show nothing treated as `role` (None: refused)."""
        return dataclasses.replace(self, anonymous_role=role)

    @property
    def session_lifetime_s(self) -> int:
        return parse_duration_ms(self.settings.session_lifetime) // 1000

    def nobody(self) -> Principal | None:
        return Principal(None, self.anonymous_role) if self.anonymous_role else None

    def from_token(self, token: str) -> Principal | None:
        account = self.accounts.by_token(token) if self.accounts else None
        return _principal(account) if account else None

    def from_session(self, session: str) -> Principal | None:
        account = self.accounts.by_session(session, self.wall_ms()) if self.accounts else None
        return _principal(account, session) if account else None

    def login(self, name: str, password: str, address: str) -> Principal:
        """A new session for the account, or LoginRefused / LoginThrottled / LoginBusy."""
        with self.queue.place():
            attempt = self._let_through(name, address)
            if not self._password_ok(name, password):
                log.warning(
                    "login: wrong name or password for %s from %s", self._shown(name), address
                )
                raise LoginRefused()
        if self.throttle and attempt:
            self.throttle.succeeded(attempt)
        assert self.accounts is not None
        account = self.accounts.account(name)
        assert account is not None
        log.info("login: %s (%s) from %s", name, account.role, address)
        return self.start_session(account)

    def start_session(self, account: Account) -> Principal:
        """A new dashboard session for an account whose password was just checked or set."""
        assert self.accounts is not None
        now = self.wall_ms()
        expires = now + self.session_lifetime_s * 1000
        return _principal(account, self.accounts.open_session(account.name, expires, now))

    def logout(self, session: str) -> None:
        if self.accounts:
            self.accounts.close_session(session)

    def _let_through(self, name: str, address: str) -> Attempt | None:
        if self.throttle is None:
            return None
        try:
            return self.throttle.attempt(name, address)
        except LoginThrottled:
            log.warning("login: %s from %s refused, too many failures", self._shown(name), address)
            raise

    def _shown(self, name: str) -> str:
        """The name for the log: people type passwords into the name field, so a name that is
        no account's appears only as a tag that tells repeated attempts apart."""
        if self.accounts is not None and self.accounts.account(name) is not None:
            return repr(name)
        return f"an unknown name (tag {log_tag(name)})"

    def _password_ok(self, name: str, password: str) -> bool:
        stored = self.accounts.password_hash(name) if self.accounts else None
        if stored is None:
            spend_like_a_check(password)
            return False
        return password_matches(stored, password)


def csrf_token(session: str) -> str:
    """Derived from the session id, so only a page that can read our answers can know it."""
    return digest("csrf:" + session)


def _principal(account: Account, session: str | None = None) -> Principal:
    return Principal(account.name, account.role, session)
