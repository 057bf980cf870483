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
from playwright.sync_api import Browser, Locator, Page, expect
from village_data import demo_devices, register

from village_brain.auth.roles import Role

from support.waiting import wait_until

sys.path.insert(0, str(Path(__file__).parents[1] / "alerts"))
from receivers import Receiver, fail_first, receiving

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
        # One attempt each, so a receiver that fails once leaves a failed delivery to resend.
        alerts={"allow_private_targets": True, "max_attempts": 1, "notify": {"group_wait": "0s"}},
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


def add_channel(page: Page, name: str, url: str) -> Locator:
    form = page.locator("#channel-form")
    form.locator("input[name=name]").fill(name)
    form.locator("input[name=url]").fill(url)
    form.locator("button[type=submit]").click()
    row = page.locator("#channel-list li[data-channel]", has_text=name)
    expect(row).to_have_count(1)
    return row


def test_send_test_shows_the_receivers_answer(admin: OfflinePage) -> None:
    with receiving(lambda _n: (200, {"errcode": 0, "errmsg": "收到了"})) as receiver:
        row = add_channel(admin.page, "测试渠道", receiver.url)
        row.locator("button.test").click()
        answer = row.locator(".test-answer")
        expect(answer).to_have_attribute("data-ok", "true")
        expect(answer).to_contain_text("HTTP 200")
        expect(answer).to_contain_text("收到了")
        assert receiver.received


def test_send_test_to_a_failing_receiver_shows_its_status(admin: OfflinePage) -> None:
    with receiving(lambda _n: (503, {"error": "维护中"})) as receiver:
        row = add_channel(admin.page, "坏渠道", receiver.url)
        row.locator("button.test").click()
        answer = row.locator(".test-answer")
        expect(answer).to_have_attribute("data-ok", "false")
        expect(answer).to_contain_text("HTTP 503")
        expect(answer).to_contain_text("维护中")


def test_editing_a_channel_changes_its_name_and_whom_it_mentions(
    admin: OfflinePage, lan: ManagedVillage, receiver: Receiver
) -> None:
    page = admin.page
    row = add_channel(page, "原名渠道", receiver.url)
    channel_id = row.get_attribute("data-channel")
    row.locator("button.edit").click()
    form = page.locator("#channel-form")
    form.locator("input[name=name]").fill("新名渠道")
    page.locator("#add-mention").click()
    mention = form.locator(".mention-row").first
    mention.locator("input[name=m-severity][value=critical]").check()
    mention.locator("input[name=m-mobiles]").fill("13800138000, 13900139000")
    form.locator("button[type=submit]").click()
    expect(page.locator("#mc-status")).to_contain_text("已保存渠道 新名渠道")
    edited = page.locator(f'#channel-list li[data-channel="{channel_id}"]')
    expect(edited).to_contain_text("新名渠道")
    expect(edited.locator(".mentions-line")).to_contain_text("@13800138000 @13900139000")
    (hook,) = [w for w in lan.service.alerts.webhooks() if w.id == channel_id]
    assert [(m.severities, m.mobiles) for m in hook.mentions] == [
        (("critical",), ("13800138000", "13900139000"))
    ]


def test_a_failed_delivery_is_sent_again_from_the_page(
    admin: OfflinePage, lan: ManagedVillage
) -> None:
    page = admin.page
    with receiving(fail_first(1)) as receiver:
        row = add_channel(page, "先失败渠道", receiver.url)
        token = lan.service.accounts.add_token(lan.account(Role.ADMIN), 0)
        rule = {"id": "resend-lamp", "name": "路灯电流过高", "severity": "minor",
                "kind": "threshold", "sensor": "lamp_power", "above": 95.0}  # fmt: skip
        made = httpx.post(
            f"{lan.url}/api/v1/rules", json=rule, headers={"Authorization": f"Bearer {token}"}
        )
        assert made.status_code == 201, made.text
        lan.publisher.publish(
            f"village/{LAMP.village}/{LAMP.id}/telemetry",
            json.dumps({"values": {"lamp_power": 140}}),
        )
        channel_id = row.get_attribute("data-channel")

        def failed() -> list[object]:
            return lan.service.alerts.store.deliveries("failed", channel_id, None, 10)

        wait_until(failed, what="the first attempt to fail")
        page.reload()
        failed_row = row.locator(".deliveries li[data-state=failed]")
        expect(failed_row).to_have_count(1)
        failed_row.locator("button.resend").click()
        wait_until(lambda: len(receiver.received) >= 2, what="the delivery sent again")
    expect(page.locator("#mc-status")).to_contain_text("重新排队")
    wait_until(
        lambda: lan.service.alerts.store.deliveries("delivered", channel_id, None, 10),
        what="the resent delivery to be recorded",
    )
    page.reload()
    expect(row.locator(".deliveries li[data-state=delivered]")).to_have_count(1)


def test_ticking_lan_addresses_shows_a_warning(admin: OfflinePage) -> None:
    page = admin.page
    warning = page.locator("#private-warning")
    expect(warning).to_be_hidden()
    page.locator("#allow-private").check()
    expect(warning).to_be_visible()
    expect(warning).to_contain_text("内部网络")
    page.locator("#allow-private").uncheck()
    expect(warning).to_be_hidden()


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
