"""`village-brain serve` as an operator runs it, seen in Chromium on a LAN with no internet:
the first admin made from the link in the log, and Ctrl-C with dashboards open."""

from __future__ import annotations

import re
import signal
import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest
from offline import keep_offline
from playwright.sync_api import Browser, BrowserContext, expect

from support.serve_process import ServeProcess

pytestmark = pytest.mark.integration

SETUP_LINK = re.compile(r"open (http://\S+/setup\?token=\S+) to create the first one")
TABS = 3
STOPS_WITHIN_S = 5.0


def serve_process(mosquitto, tmp_path: Path, anyone_views: bool) -> ServeProcess:
    return ServeProcess(
        mosquitto.url,
        tmp_path / "data",
        tmp_path / "serve.log",
        f"browser-{time.monotonic_ns()}",
        anyone_views=anyone_views,
    )


@pytest.fixture
def fresh_server(mosquitto, tmp_path: Path) -> Iterator[ServeProcess]:
    """A first start: a new data directory, no accounts, no anonymous viewing."""
    process = serve_process(mosquitto, tmp_path, anyone_views=False)
    process.start()
    yield process
    process.kill()


def new_context(browser: Browser, url: str, foreign: list[str], **options) -> BrowserContext:
    context = browser.new_context(locale="zh-CN", **options)
    context.set_default_timeout(10_000)
    seen = keep_offline(context, url)
    context.on("close", lambda _: foreign.extend(seen))
    return context


def admins(data_dir: Path) -> list[str]:
    with closing(sqlite3.connect(data_dir / "accounts.sqlite3")) as conn:
        rows = conn.execute("SELECT name FROM users WHERE role = 'admin'").fetchall()
    return [name for (name,) in rows]


def test_the_first_admin_is_made_from_the_link_in_the_log_on_a_phone(
    fresh_server: ServeProcess, browser: Browser
) -> None:
    link = SETUP_LINK.search(fresh_server.log_text())
    assert link is not None, fresh_server.log_text()
    foreign: list[str] = []
    phone = new_context(browser, fresh_server.url, foreign, viewport={"width": 390, "height": 844})
    page = phone.new_page()
    page.goto(link.group(1))
    expect(page.locator("#setup-title")).to_have_text("设置第一个管理员")
    page.get_by_label("用户名").fill("zhang.wei")
    page.get_by_label("密码", exact=True).fill("river-bank-7")
    page.get_by_label("再输一次密码").fill("river-bank-7")
    page.get_by_role("button", name="创建管理员并登录").click()
    expect(page).to_have_url(fresh_server.url + "/")
    expect(page.locator("#account")).to_contain_text("zhang.wei · 管理员")
    assert admins(fresh_server.data_dir) == ["zhang.wei"]

    # The link worked once: opened again, it says so and offers the login instead.
    other = new_context(browser, fresh_server.url, foreign)
    again = other.new_page()
    again.goto(link.group(1))
    expect(again.locator("#setup-closed")).to_be_visible()
    expect(again.locator("#setup-form")).to_be_hidden()
    phone.close()
    other.close()
    assert foreign == []


def test_the_login_page_tells_a_visitor_without_an_account_whom_to_ask(
    fresh_server: ServeProcess, browser: Browser
) -> None:
    foreign: list[str] = []
    context = new_context(browser, fresh_server.url, foreign)
    page = context.new_page()
    page.goto(fresh_server.url + "/")
    expect(page).to_have_url(re.compile(r"/login\?next="))
    expect(page.locator("#login-no-account")).to_contain_text("请向这个服务器的管理员要一个")
    # Named so by the page's script: there to be clicked once the script runs.
    page.get_by_role("button", name="Switch to English").click()
    expect(page.locator("#login-no-account")).to_contain_text("Ask this server's administrator")
    context.close()
    assert foreign == []


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_serve_stops_within_five_seconds_with_three_dashboard_tabs_open(
    mosquitto, tmp_path: Path, browser: Browser, sig: signal.Signals
) -> None:
    server = serve_process(mosquitto, tmp_path, anyone_views=True)
    server.start()
    foreign: list[str] = []
    context = new_context(browser, server.url, foreign)
    try:
        tabs = [context.new_page() for _ in range(TABS)]
        for tab in tabs:
            tab.goto(server.url + "/")
        for tab in tabs:
            expect(tab.locator("#live-state")).to_have_attribute("data-state", "open")
        assert server.process is not None
        began = time.monotonic()
        server.process.send_signal(sig)
        status = server.process.wait(timeout=30)
        took = time.monotonic() - began
        assert status == 0, server.log_text()
        print(f"{sig.name} with {TABS} tabs open: stopped in {took:.2f} s")
        assert took < STOPS_WITHIN_S, f"stopped after {took:.1f} s"
        assert "stopped cleanly" in server.log_text()
        # The tabs see the feed end rather than hang on it.
        for tab in tabs:
            expect(tab.locator("#live-state")).not_to_have_attribute("data-state", "open")
    finally:
        context.close()
        server.kill()
    assert foreign == []
