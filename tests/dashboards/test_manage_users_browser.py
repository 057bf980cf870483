"""The users page and one's own account page in Debian's Chromium, offline."""

from __future__ import annotations

import httpx
import pytest
from manage_site import PASSWORD, ManagedVillage, accept_dialogs, log_in, offline_page
from playwright.sync_api import Browser, expect

from village_brain.auth.roles import Role

pytestmark = pytest.mark.integration
expect.set_options(timeout=10_000)


def test_a_user_an_admin_adds_in_the_browser_can_log_in_with_that_role(
    browser: Browser, managed: ManagedVillage
) -> None:
    with offline_page(browser, managed.url) as admin:
        page = admin.page
        log_in(page, managed.url, managed.account(Role.ADMIN), then="/manage/users")
        form = page.locator("#add-user")
        form.locator("input[name=name]").fill("王值班")
        form.locator("select[name=role]").select_option("operator")
        form.locator("input[name=password]").fill("duty-night-42")
        form.locator("button[type=submit]").click()
        expect(page.locator('#users tr[data-user="王值班"] select')).to_have_value("operator")
        assert admin.foreign == [] and admin.errors == []
    with offline_page(browser, managed.url) as newcomer:
        log_in(newcomer.page, managed.url, "王值班", "duty-night-42")
        expect(newcomer.page.locator("#account")).to_contain_text("王值班 · 值班")
        # An operator manages neither devices nor users.
        expect(newcomer.page.locator("#manage-nav a[href='/manage/users']")).to_have_count(0)
        assert newcomer.foreign == []


def test_a_role_changed_in_the_browser_applies_at_once(
    browser: Browser, managed: ManagedVillage
) -> None:
    viewer = managed.account(Role.VIEWER)
    with offline_page(browser, managed.url) as admin:
        page = admin.page
        log_in(page, managed.url, managed.account(Role.ADMIN), then="/manage/users")
        page.locator(f'#users tr[data-user="{viewer}"] select').select_option("admin")
        expect(page.locator("#mu-status")).to_contain_text(viewer)
    assert managed.service.accounts.account(viewer).role == Role.ADMIN


def test_a_password_reset_in_the_browser_replaces_the_old_one(
    browser: Browser, managed: ManagedVillage
) -> None:
    viewer = managed.account(Role.VIEWER)
    with offline_page(browser, managed.url) as admin:
        page = admin.page
        log_in(page, managed.url, managed.account(Role.ADMIN), then="/manage/users")
        accept_dialogs(page, "fresh-start-77")
        page.locator(f'#users tr[data-user="{viewer}"] button.reset').click()
        expect(page.locator("#mu-status")).to_contain_text("已重设")
    refused = httpx.post(
        f"{managed.url}/api/v1/auth/login", json={"name": viewer, "password": PASSWORD}
    )
    assert refused.status_code == 401
    with offline_page(browser, managed.url) as them:
        log_in(them.page, managed.url, viewer, "fresh-start-77")


def test_an_api_token_made_in_the_browser_works_until_revoked(
    browser: Browser, managed: ManagedVillage
) -> None:
    viewer = managed.account(Role.VIEWER)
    with offline_page(browser, managed.url) as admin:
        page = admin.page
        log_in(page, managed.url, managed.account(Role.ADMIN), then="/manage/users")
        page.locator(f'#users tr[data-user="{viewer}"] button.new-token').click()
        token = page.locator("#mu-secret-value")
        expect(token).to_contain_text("vbt_")
        headers = {"Authorization": f"Bearer {token.text_content()}"}
        assert httpx.get(f"{managed.url}/api/v1/auth/me", headers=headers).status_code == 200
        page.locator(f'#users tr[data-user="{viewer}"] button.revoke').click()
        expect(page.locator(f'#users tr[data-user="{viewer}"] td.tokens')).to_have_text("0")
        assert httpx.get(f"{managed.url}/api/v1/auth/me", headers=headers).status_code == 401


def test_ending_a_users_logins_in_the_browser_logs_them_out(
    browser: Browser, managed: ManagedVillage
) -> None:
    operator = managed.account(Role.OPERATOR)
    with offline_page(browser, managed.url) as them:
        log_in(them.page, managed.url, operator)
        with offline_page(browser, managed.url) as admin:
            log_in(admin.page, managed.url, managed.account(Role.ADMIN), then="/manage/users")
            admin.page.locator(f'#users tr[data-user="{operator}"] button.end-sessions').click()
            expect(admin.page.locator("#mu-status")).to_contain_text("登录已全部结束")
        them.page.reload()
        expect(them.page.locator("#login-link")).to_be_visible()


def test_one_changes_ones_own_password_in_the_browser(
    browser: Browser, managed: ManagedVillage
) -> None:
    name = managed.account(Role.VIEWER)
    with offline_page(browser, managed.url) as me:
        page = me.page
        log_in(page, managed.url, name, then="/account")
        page.locator("input[name=current]").fill(PASSWORD)
        page.locator("input[name=new]").fill("my-garden-55")
        page.locator("input[name=repeat]").fill("my-garden-55")
        page.locator("#password-form button[type=submit]").click()
        expect(page.locator("#acc-who")).to_contain_text("密码已修改")
        page.locator("#login-again").click()
        page.locator("#login-name").fill(name)
        page.locator("#login-password").fill("my-garden-55")
        page.locator("#login-form button[type=submit]").click()
        expect(page.locator("#acc-who")).to_contain_text(name)
        assert me.foreign == [] and me.errors == []


def test_two_different_new_passwords_are_refused_before_sending(
    browser: Browser, managed: ManagedVillage
) -> None:
    name = managed.account(Role.VIEWER)
    with offline_page(browser, managed.url) as me:
        page = me.page
        log_in(page, managed.url, name, then="/account")
        page.locator("input[name=current]").fill(PASSWORD)
        page.locator("input[name=new]").fill("my-garden-55")
        page.locator("input[name=repeat]").fill("my-garden-56")
        page.locator("#password-form button[type=submit]").click()
        expect(page.locator("#acc-error")).to_have_text("两次输入的新密码不一致。")
