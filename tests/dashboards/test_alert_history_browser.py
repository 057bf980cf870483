"""Alert history and CSV exports in Debian's Chromium, offline, against a real service."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from manage_site import ManagedVillage, log_in, offline_page
from playwright.sync_api import Browser, expect
from village_data import demo_devices

from village_brain.auth.roles import Role

from support.waiting import wait_until

pytestmark = pytest.mark.integration
expect.set_options(timeout=10_000)
RULE = {
    "id": "history-lamp-power",
    "name": "路灯功率过高",
    "severity": "major",
    "kind": "threshold",
    "sensor": "lamp_power",
    "above": 90.0,
}


@pytest.fixture(scope="module")
def fired(managed: ManagedVillage) -> dict[str, object]:
    """One alert of a rule with a Chinese name, fired by a real reading through the broker."""
    admin = managed.account(Role.ADMIN)
    token = managed.service.accounts.add_token(admin, 0)
    headers = {"Authorization": f"Bearer {token}"}
    made = httpx.post(f"{managed.url}/api/v1/rules", json=RULE, headers=headers)
    assert made.status_code == 201, made.text
    lamp = next(d for d in demo_devices(8) if d.kind == "street_lamp")
    managed.publisher.publish(
        f"village/{lamp.village}/{lamp.id}/telemetry", json.dumps({"values": {"lamp_power": 130}})
    )

    def found() -> list[dict[str, object]]:
        alerts = httpx.get(f"{managed.url}/api/v1/alerts", headers=headers).json()
        return [a for a in alerts if a["rule_id"] == RULE["id"]]

    return wait_until(found, what="the lamp alert to fire")[0]


def test_the_history_filters_by_rule_and_shows_an_alerts_timeline(
    browser: Browser, managed: ManagedVillage, fired: dict[str, object]
) -> None:
    with offline_page(browser, managed.url) as viewer:
        page = viewer.page
        log_in(page, managed.url, managed.account(Role.VIEWER), then="/alerts/history")
        page.locator("#af-rule").select_option(RULE["id"])
        items = page.locator("#ah-list li.alert")
        expect(items).to_have_count(1)
        expect(items.first).to_contain_text("路灯功率过高")
        items.first.locator("details summary").click()
        expect(items.first.locator(".timeline li[data-kind=fired]")).to_contain_text("触发")
        page.locator("#af-severity").select_option("info")
        expect(page.locator("#ah-list li.alert")).to_have_count(0)
        assert viewer.foreign == [] and viewer.errors == []


def test_a_time_range_before_the_alert_hides_it(
    browser: Browser, managed: ManagedVillage, fired: dict[str, object]
) -> None:
    with offline_page(browser, managed.url) as viewer:
        page = viewer.page
        log_in(page, managed.url, managed.account(Role.VIEWER), then="/alerts/history")
        page.locator("#af-rule").select_option(RULE["id"])
        expect(page.locator("#ah-list li.alert")).to_have_count(1)
        page.locator("#af-to").fill("2020-01-01T00:00")
        page.locator("#af-to").dispatch_event("change")
        expect(page.locator("#ah-list li.alert")).to_have_count(0)


def test_the_alert_history_csv_has_a_bom_and_chinese_text(
    browser: Browser, managed: ManagedVillage, fired: dict[str, object], tmp_path: Path
) -> None:
    with offline_page(browser, managed.url) as viewer:
        page = viewer.page
        log_in(page, managed.url, managed.account(Role.VIEWER), then="/alerts/history")
        page.locator("#af-rule").select_option(RULE["id"])
        expect(page.locator("#ah-list li.alert")).to_have_count(1)
        with page.expect_download() as waiting:
            page.locator("#ah-csv").click()
        saved = tmp_path / waiting.value.suggested_filename
        waiting.value.save_as(saved)
        assert viewer.foreign == []
    data = saved.read_bytes()
    assert saved.suffix == ".csv"
    assert data.startswith(b"\xef\xbb\xbf")
    lines = data.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("开始时间,状态,级别,规则")
    assert len(lines) == 2 and "路灯功率过高" in lines[1] and "严重" in lines[1]


def test_a_series_csv_from_the_device_page_has_a_bom_and_chinese_text(
    browser: Browser, managed: ManagedVillage, tmp_path: Path
) -> None:
    lamp = next(d for d in demo_devices(8) if d.kind == "street_lamp")
    managed.publisher.publish(
        f"village/{lamp.village}/{lamp.id}/telemetry", json.dumps({"values": {"lamp_power": 40}})
    )
    wait_until(
        lambda: any(v.sensor == "lamp_power" for v in managed.service.series.latest(lamp.id)),
        what="the lamp reading to be stored",
    )
    with offline_page(browser, managed.url) as viewer:
        page = viewer.page
        log_in(page, managed.url, managed.account(Role.VIEWER), then="/")
        page.goto(f"{managed.url}/devices/{lamp.id}?sensor=lamp_power")
        link = page.locator("#chart-csv")
        expect(link).to_be_visible()
        with page.expect_download() as waiting:
            link.click()
        saved = tmp_path / "series.csv"
        waiting.value.save_as(saved)
        assert viewer.foreign == []
    data = saved.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    lines = data.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("时间（UTC）,当地时间（Asia/Shanghai）,设备")
    assert any(lamp.id in line and "lamp_power" in line for line in lines[1:])
