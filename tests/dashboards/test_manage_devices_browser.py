"""The device management page in Debian's Chromium, offline, against a real service."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from manage_site import PHONE, ManagedVillage, OfflinePage, accept_dialogs, log_in, offline_page
from playwright.sync_api import Browser, expect
from village_data import demo_devices

from village_brain.auth.roles import Role
from village_brain.broker.credentials import verify_password
from village_brain.core.devices import Device
from village_brain.store.credentials import CredentialStore

from support.waiting import wait_until

pytestmark = pytest.mark.integration
expect.set_options(timeout=10_000)


@pytest.fixture
def admin_page(browser: Browser, managed: ManagedVillage) -> Iterator[OfflinePage]:
    with offline_page(browser, managed.url) as watched:
        log_in(watched.page, managed.url, managed.account(Role.ADMIN), then="/manage/devices")
        expect(watched.page.locator("#md-devices tbody tr[data-device]").first).to_be_visible()
        yield watched
        assert watched.foreign == []
        assert watched.errors == []


def test_an_admin_sees_management_links_an_anonymous_visitor_does_not(
    browser: Browser, managed: ManagedVillage, admin_page: OfflinePage
) -> None:
    expect(admin_page.page.locator("#manage-nav a[href='/manage/users']")).to_be_visible()
    with offline_page(browser, managed.url) as visitor:
        visitor.page.goto(managed.url + "/")
        expect(visitor.page.locator("#devices tbody tr[data-device]")).to_have_count(8)
        expect(visitor.page.locator("#manage-nav")).to_be_hidden()
        assert visitor.page.locator("#manage-nav a[href='/manage/devices']").count() == 0
        assert visitor.foreign == []


def test_a_viewer_sees_the_device_list_without_any_button(
    browser: Browser, managed: ManagedVillage
) -> None:
    with offline_page(browser, managed.url) as viewer:
        log_in(viewer.page, managed.url, managed.account(Role.VIEWER), then="/manage/devices")
        page = viewer.page
        expect(page.locator("#md-devices tbody tr[data-device]")).to_have_count(
            len(managed.service.registry.devices())
        )
        assert page.locator("main button:visible").count() == 0
        expect(page.locator("#pending")).to_be_hidden()
        assert viewer.foreign == [] and viewer.errors == []


def test_the_list_filters_by_text_and_kind(admin_page: OfflinePage) -> None:
    page = admin_page.page
    page.locator("#mf-kind").select_option("street_lamp")
    rows = page.locator("#md-devices tbody tr[data-device]")
    expect(rows.first).to_be_visible()
    for kind in rows.locator("td.kind").all():
        assert kind.get_attribute("data-kind") == "street_lamp"
    page.locator("#mf-kind").select_option("")
    page.locator("#mf-text").fill("no-such-device-anywhere")
    expect(rows).to_have_count(0)


def test_editing_a_device_and_placing_it_on_the_plan_saves_it(
    admin_page: OfflinePage, managed: ManagedVillage
) -> None:
    device = demo_devices(8)[0]
    page = admin_page.page
    page.locator(f'#md-devices tr[data-device="{device.id}"] button.edit').click()
    form = page.locator("#device-form")
    form.locator("input[name=name]").fill("村口新名字")
    form.locator("input[name=place]").fill("老樟树下")
    before = float(form.locator("input[name=lat]").input_value())
    plan = page.locator("#placer")
    box = plan.bounding_box()
    assert box is not None
    # Drag the mark from near the top left to the lower middle of the plan.
    page.mouse.move(box["x"] + box["width"] * 0.2, box["y"] + box["height"] * 0.2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.8, steps=5)
    page.mouse.up()
    expect(plan.locator(".placed-mark")).to_have_count(1)
    lat = float(form.locator("input[name=lat]").input_value())
    lon = float(form.locator("input[name=lon]").input_value())
    assert lat != before
    form.locator("button[type=submit]").click()
    expect(page.locator("#md-status")).to_contain_text("已保存")
    saved = managed.service.registry.device(device.id)
    assert saved is not None
    assert saved.device.name == "村口新名字" and saved.device.place == "老樟树下"
    assert saved.device.lat == pytest.approx(lat) and saved.device.lon == pytest.approx(lon)
    assert saved.device.sensors == device.sensors


def test_an_auto_registered_device_of_unknown_kind_is_given_a_kind_and_placed(
    admin_page: OfflinePage, managed: ManagedVillage
) -> None:
    managed.service.register_devices([Device(id="found-1", village="xiashan", source="auto")])
    page = admin_page.page
    page.reload()
    row = page.locator('#md-devices tr[data-device="found-1"]')
    expect(row.locator("td.kind")).to_have_text("未分类")
    expect(row.locator("td.place")).to_contain_text("未放到平面图上")
    row.locator("button.edit").click()
    form = page.locator("#device-form")
    form.locator("select[name=kind]").select_option("soil_probe")
    box = page.locator("#placer").bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + box["width"] * 0.6, box["y"] + box["height"] * 0.4)
    expect(form.locator("input[name=lat]")).not_to_have_value("")
    form.locator("button[type=submit]").click()
    expect(row.locator("td.kind")).to_have_text("土壤探头")
    page.goto(managed.url + "/")
    expect(page.locator('#plan a.device-mark[data-device="found-1"]')).to_have_count(1)


def test_a_pending_device_approved_in_the_browser_has_its_next_reading_stored(
    admin_page: OfflinePage, managed: ManagedVillage
) -> None:
    topic = "village/xiashan/stray-7/telemetry"
    reading = json.dumps({"values": {"air_temperature": 21.5}})
    managed.publisher.publish(topic, reading)
    wait_until(
        lambda: any(p.device == "stray-7" for p in managed.service.registry.pending_devices()),
        what="the unknown device to be refused",
    )
    page = admin_page.page
    page.reload()
    waiting = page.locator('#pending-list li[data-device="stray-7"]')
    expect(waiting).to_contain_text("xiashan")
    waiting.locator("button.approve").click()
    expect(page.locator("#md-status")).to_contain_text("已批准")
    expect(page.locator('#md-devices tr[data-device="stray-7"]')).to_have_count(1)
    stored = managed.service.stats.stored
    managed.publisher.publish(topic, reading)
    wait_until(lambda: managed.service.stats.stored > stored, what="the reading to be stored")
    assert [v.sensor for v in managed.service.series.latest("stray-7")] == ["air_temperature"]


def test_a_refused_pending_device_leaves_the_list(
    admin_page: OfflinePage, managed: ManagedVillage
) -> None:
    managed.publisher.publish("village/dongcun/stray-8/telemetry", '{"values": {"rssi": -80}}')
    wait_until(
        lambda: any(p.device == "stray-8" for p in managed.service.registry.pending_devices()),
        what="the unknown device to be refused",
    )
    page = admin_page.page
    page.reload()
    page.locator('#pending-list li[data-device="stray-8"] button.refuse').click()
    expect(page.locator('#pending-list li[data-device="stray-8"]')).to_have_count(0)
    assert managed.service.registry.device("stray-8") is None


def test_a_new_mqtt_password_is_shown_once_and_only_its_hash_is_kept(
    admin_page: OfflinePage, managed: ManagedVillage
) -> None:
    device = demo_devices(8)[1]
    page = admin_page.page
    accept_dialogs(page)
    page.locator(f'#md-devices tr[data-device="{device.id}"] button.edit').click()
    expect(page.locator("#access-issued")).to_have_text("还没有 MQTT 密码")
    page.locator("#rotate-password").click()
    secret = page.locator("#secret-value")
    expect(secret).not_to_have_text("")
    password = secret.text_content() or ""
    expect(page.locator("#access-issued")).to_contain_text("密码生成于")
    store = CredentialStore(managed.service.registry.db.path)
    try:
        assert verify_password(password, store.hashes()[device.id])
    finally:
        store.close()
    page.reload()
    page.locator(f'#md-devices tr[data-device="{device.id}"] button.edit').click()
    expect(page.locator("#secret")).to_be_hidden()
    assert password not in page.content()


def test_a_device_token_issued_in_the_browser_posts_readings(
    admin_page: OfflinePage, managed: ManagedVillage
) -> None:
    device = demo_devices(8)[2]
    page = admin_page.page
    page.locator(f'#md-devices tr[data-device="{device.id}"] button.edit').click()
    page.locator("#new-token").click()
    token = page.locator("#secret-value")
    expect(token).to_contain_text("vbd_")
    sensor = device.sensors[0]
    posted = httpx.post(
        f"{managed.url}/api/v1/ingest/{device.village}/{device.id}/telemetry",
        json={"values": {sensor: 1}},
        headers={"Authorization": f"Bearer {token.text_content()}"},
        timeout=30,
    )
    assert posted.status_code in (200, 422), posted.text
    expect(page.locator("#token-list li[data-token]")).to_have_count(1)
    page.locator("#token-list button.revoke").click()
    expect(page.locator("#token-list li[data-token]")).to_have_count(0)


def test_decommissioning_in_the_browser_removes_the_device(
    admin_page: OfflinePage, managed: ManagedVillage
) -> None:
    managed.service.register_devices([Device(id="old-pump", village="xiashan", source="api")])
    page = admin_page.page
    page.reload()
    accept_dialogs(page)
    page.locator('#md-devices tr[data-device="old-pump"] button.edit').click()
    page.locator("#decommission").click()
    expect(page.locator("#md-status")).to_contain_text("已停用")
    expect(page.locator('#md-devices tr[data-device="old-pump"]')).to_have_count(0)
    assert managed.service.registry.device("old-pump") is None


def test_the_logged_in_phone_header_stays_on_one_line(
    browser: Browser, managed: ManagedVillage
) -> None:
    with offline_page(browser, managed.url, viewport=PHONE) as phone:
        name = managed.account(Role.ADMIN)
        log_in(phone.page, managed.url, name, then="/manage/devices")
        page = phone.page
        expect(page.locator("#logout")).to_be_visible()
        for selector in (".brand", "#logout", "#lang-switch"):
            height = page.locator(selector).evaluate("el => el.getBoundingClientRect().height")
            line = page.locator(selector).evaluate(
                "el => parseFloat(getComputedStyle(el).lineHeight) || 24"
            )
            assert height < 2 * line, f"{selector} wraps: {height}px for {line}px lines"
        top = page.locator(".topbar").bounding_box()
        assert top is not None and top["height"] < 70
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"]
