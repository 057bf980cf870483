"""The notification channels page in Debian's Chromium, offline, with a real local receiver."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from integration.harness import Publisher, make_service
from live_server import serve_http
from manage_site import ManagedVillage, OfflinePage, log_in, offline_page
from playwright.sync_api import Browser, expect
from village_data import demo_devices, register

from village_brain.auth.roles import Role

from support.waiting import wait_until

sys.path.insert(0, str(Path(__file__).parents[1] / "alerts"))
from receivers import Receiver, receiving

pytestmark = pytest.mark.integration
expect.set_options(timeout=10_000)
LAMP = next(d for d in demo_devices(8) if d.kind == "street_lamp")


@pytest.fixture(scope="module")
def lan(mosquitto, tmp_path_factory) -> Iterator[ManagedVillage]:
    """A village whose admin may send to loopback receivers, as on a village LAN."""
    service = make_service(
        mosquitto.url,
        tmp_path_factory.mktemp("channels-data"),
        f"channels-{time.monotonic_ns()}",
        anyone_as=None,
        alerts={"allow_private_targets": True},
    )
    service.start()
    wait_until(service.receiver.connected.is_set, what="ingest to connect")
    register(service, demo_devices(8))
    publisher = Publisher(mosquitto.url)
    try:
        with serve_http(service) as server:
            yield ManagedVillage(service, server.url, publisher)
    finally:
        publisher.close()
        service.stop()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with receiving() as running:
        yield running


@pytest.fixture
def admin(browser: Browser, lan: ManagedVillage) -> Iterator[OfflinePage]:
    with offline_page(browser, lan.url) as watched:
        log_in(watched.page, lan.url, lan.account(Role.ADMIN), then="/manage/channels")
        yield watched
        assert watched.errors == []


def test_a_channel_added_in_the_browser_receives_the_alert(
    admin: OfflinePage, lan: ManagedVillage, receiver: Receiver
) -> None:
    page = admin.page
    form = page.locator("#channel-form")
    form.locator("input[name=name]").fill("村委值班")
    form.locator("input[name=url]").fill(receiver.url)
    form.locator("input[name=severity][value=major]").check()
    form.locator("button[type=submit]").click()
    expect(page.locator("#mc-secret-value")).to_contain_text("whsec_")
    row = page.locator("#channel-list li[data-channel]", has_text="村委值班")
    expect(row).to_have_count(1)
    token = lan.service.accounts.add_token(lan.account(Role.ADMIN), 0)
    rule = {"id": "channel-lamp", "name": "路灯功率过高", "severity": "major",
            "kind": "threshold", "sensor": "lamp_power", "above": 90.0}  # fmt: skip
    made = httpx.post(
        f"{lan.url}/api/v1/rules", json=rule, headers={"Authorization": f"Bearer {token}"}
    )
    assert made.status_code == 201, made.text
    lan.publisher.publish(
        f"village/{LAMP.village}/{LAMP.id}/telemetry", json.dumps({"values": {"lamp_power": 130}})
    )
    bodies = wait_until(receiver.bodies, what="the alert to reach the receiver")
    assert bodies[0]["data"]["rule_id"] == "channel-lamp"
    page.reload()
    expect(row.locator(".deliveries li[data-state=delivered]")).not_to_have_count(0)
    assert admin.foreign == []


def test_send_test_answers_in_words(admin: OfflinePage, receiver: Receiver) -> None:
    page = admin.page
    form = page.locator("#channel-form")
    form.locator("input[name=name]").fill("测试渠道")
    form.locator("input[name=url]").fill(receiver.url)
    form.locator("button[type=submit]").click()
    row = page.locator("#channel-list li[data-channel]", has_text="测试渠道")
    row.locator("button.test").click()
    # Whether this server can send a test or not, the page says which, in words.
    expect(page.locator("#mc-status")).to_contain_text("测试消息")


def test_a_channel_the_server_refuses_says_why(admin: OfflinePage) -> None:
    page = admin.page
    form = page.locator("#channel-form")
    form.locator("input[name=url]").fill("ftp://example.invalid/hook")
    form.locator("button[type=submit]").click()
    expect(page.locator("#channel-error")).to_contain_text("渠道未添加")


def test_removing_a_channel_in_the_browser(admin: OfflinePage, receiver: Receiver) -> None:
    page = admin.page
    page.on("dialog", lambda dialog: dialog.accept())
    form = page.locator("#channel-form")
    form.locator("input[name=name]").fill("将删除")
    form.locator("input[name=url]").fill(receiver.url)
    form.locator("button[type=submit]").click()
    row = page.locator("#channel-list li[data-channel]", has_text="将删除")
    row.locator("button.remove").click()
    expect(row).to_have_count(0)
