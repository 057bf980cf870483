"""The demo lets anyone look; acknowledging takes its printed operator login."""

from __future__ import annotations

from village_brain.auth.accounts import AccountStore
from village_brain.auth.demo import DEMO_ACCOUNT, forget_demo_accounts, open_demo_account
from village_brain.auth.gate import Gate
from village_brain.auth.roles import Role
from village_brain.core.config import AuthSettings


def test_visitors_may_read_in_the_demo(accounts: AccountStore) -> None:
    gate = Gate.for_service(accounts, AuthSettings(), demo=True)
    assert gate.nobody().role == Role.VIEWER


def test_visitors_may_not_read_outside_the_demo_by_default(accounts: AccountStore) -> None:
    assert Gate.for_service(accounts, AuthSettings(), demo=False).nobody() is None


def test_the_setting_can_close_the_demo_to_visitors(accounts: AccountStore) -> None:
    settings = AuthSettings(anonymous_view=False)
    assert Gate.for_service(accounts, settings, demo=True).nobody() is None


def test_the_demo_operator_logs_in_with_the_password_it_was_given(accounts) -> None:
    password = open_demo_account(accounts, 0)
    gate = Gate.for_service(accounts, AuthSettings(), demo=True)
    assert gate.login(DEMO_ACCOUNT, password, "127.0.0.1").role == Role.OPERATOR


def test_a_start_without_demo_removes_the_demo_account(accounts: AccountStore) -> None:
    open_demo_account(accounts, 0)
    forget_demo_accounts(accounts)
    assert accounts.account(DEMO_ACCOUNT) is None


def test_a_real_account_named_demo_is_left_alone(accounts: AccountStore) -> None:
    accounts.add(DEMO_ACCOUNT, Role.ADMIN, "really-mine", 0)
    assert open_demo_account(accounts, 0) is None
    forget_demo_accounts(accounts)
    assert accounts.account(DEMO_ACCOUNT).role == Role.ADMIN
