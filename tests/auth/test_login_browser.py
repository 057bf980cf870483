"""The dashboard's login in a real Chromium: sent to /login, logged in, acknowledging an alert."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from integration.harness import Publisher, make_service
from login_support import PASSWORD, bearer
from playwright.sync_api import Page, expect, sync_playwright

from village_brain.auth.roles import Role

from support.waiting import wait_until

# The dashboard suite's helpers: Debian's Chromium, and the app served on a free port.
sys.path.insert(0, str(Path(__file__).parents[1] / "dashboards"))
from chromium import LAUNCH_ARGS, ChromiumUnavailable, ensure_chromium
from live_server import serve_http
from village_data import demo_devices, register

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def site(mosquitto, tmp_path_factory) -> Iterator[tuple[str, str, Publisher]]:
    """(url, admin token, publisher) of a service that lets nobody in without logging in."""
    data_dir = tmp_path_factory.mktemp("login-data")
    service = make_service(mosquitto.url, data_dir, f"login-{time.monotonic_ns()}", anyone_as=None)
    service.start()
    wait_until(service.receiver.connected.is_set, what="ingest to connect")
    register(service, demo_devices(8))
    for role in Role:
        service.accounts.add(f"{role}-1", role, PASSWORD, 0)
    token = service.accounts.add_token("admin-1", 0)
    publisher = Publisher(mosquitto.url)
    try:
        with serve_http(service) as server:
            yield server.url, token, publisher
    finally:
        publisher.close()
        service.stop()


@pytest.fixture(scope="module")
def page_factory() -> Iterator:
    try:
        executable = ensure_chromium()
    except ChromiumUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(executable), args=LAUNCH_ARGS)
        contexts = []

        def new_page() -> Page:
            context = browser.new_context(locale="zh-CN")
            contexts.append(context)
            page = context.new_page()
            page.set_default_timeout(10_000)
            return page

        yield new_page
        for context in contexts:
            context.close()
        browser.close()


def log_in(page: Page, name: str, password: str) -> None:
    page.get_by_label("用户名").fill(name)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()


def test_a_visitor_is_sent_to_log_in_and_back_to_the_overview(site, page_factory) -> None:
    url, _, _ = site
    page = page_factory()
    page.goto(url + "/")
    expect(page).to_have_url(f"{url}/login?next=%2F")
    log_in(page, "viewer-1", PASSWORD)
    expect(page).to_have_url(url + "/")
    expect(page.locator("#devices tbody tr[data-device]")).to_have_count(8)
    expect(page.locator("#account")).to_contain_text("viewer-1")


def test_a_wrong_password_says_so_in_the_page_language(site, page_factory) -> None:
    url, _, _ = site
    page = page_factory()
    page.goto(url + "/login")
    log_in(page, "viewer-1", "not-my-password")
    expect(page.locator("#login-status")).to_have_text("用户名或密码不对。")


def test_an_operator_acknowledges_through_the_login_cookie(site, page_factory) -> None:
    url, token, publisher = site
    rule = {
        "id": "login-test-lamp",
        "name": "Lamp drawing too much",
        "severity": "warning",
        "kind": "threshold",
        "sensor": "lamp_power",
        "above": 90.0,
    }
    admin = bearer(token)
    assert httpx.post(f"{url}/api/v1/rules", json=rule, headers=admin).status_code == 201
    lamp = next(d for d in demo_devices(8) if d.kind == "street_lamp")
    publisher.publish(
        f"village/{lamp.village}/{lamp.id}/telemetry", json.dumps({"values": {"lamp_power": 120}})
    )

    def firing() -> list[dict[str, object]]:
        found = httpx.get(f"{url}/api/v1/alerts", params={"state": "firing"}, headers=admin)
        return [a for a in found.json() if a["rule_id"] == rule["id"]]

    alert = wait_until(firing, what="the lamp alert to fire")[0]
    page = page_factory()
    page.goto(url + "/login")
    log_in(page, "operator-1", PASSWORD)
    item = page.locator(f'#alerts-active [data-alert="{alert["id"]}"]')
    item.get_by_text("确认", exact=True).click()
    item.get_by_role("button", name="提交确认").click()
    # The account that is logged in acknowledges: there is no name to type.
    expect(item).to_contain_text("已由 operator-1 确认")
