"""The alert rules page in Debian's Chromium, offline: a rule made there fires on a reading."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from manage_site import ManagedVillage, OfflinePage, log_in, offline_page
from playwright.sync_api import Browser, Page, expect
from village_data import demo_devices

from village_brain.auth.roles import Role
from village_brain.core.records import Reading
from village_brain.core.timefmt import now_ms

from support.waiting import wait_until

pytestmark = pytest.mark.integration
expect.set_options(timeout=10_000)
LAMP = next(d for d in demo_devices(8) if d.kind == "street_lamp")


@pytest.fixture
def admin(browser: Browser, managed: ManagedVillage) -> Iterator[OfflinePage]:
    with offline_page(browser, managed.url) as watched:
        log_in(watched.page, managed.url, managed.account(Role.ADMIN), then="/manage/rules")
        expect(watched.page.locator("#rule-list li[data-rule]").first).to_be_visible()
        yield watched
        assert watched.foreign == [] and watched.errors == []


def fill_rule(page: Page, rule_id: str, name: str, above: str, during: str = "") -> None:
    page.locator("#new-rule").click()
    form = page.locator("#rule-form")
    form.locator("input[name=id]").fill(rule_id)
    form.locator("input[name=name]").fill(name)
    form.locator("select[name=kind]").select_option("threshold")
    form.locator("select[name=severity]").select_option("major")
    form.locator("select[name=sensor]").select_option("lamp_power")
    form.locator("input[name=above]").fill(above)
    if during:
        form.locator("input[name=during]").fill(during)
    form.locator("input[name=village]").fill(LAMP.village)
    form.locator("button[type=submit]").click()


def test_a_rule_created_in_the_browser_fires_on_a_published_reading(
    admin: OfflinePage, managed: ManagedVillage
) -> None:
    page = admin.page
    fill_rule(page, "browser-lamp", "路灯功率异常", "100")
    expect(page.locator('#rule-list li[data-rule="browser-lamp"]')).to_contain_text("路灯功率异常")
    managed.publisher.publish(
        f"village/{LAMP.village}/{LAMP.id}/telemetry", json.dumps({"values": {"lamp_power": 150}})
    )

    def fired() -> list[object]:
        alerts = httpx.get(f"{managed.url}/api/v1/alerts").json()
        return [a for a in alerts if a["rule_id"] == "browser-lamp"]

    alert = wait_until(fired, what="the rule made in the browser to fire")[0]
    assert alert["device"] == LAMP.id and alert["severity"] == "major"


def test_a_rule_the_server_refuses_says_why_in_the_form(admin: OfflinePage) -> None:
    page = admin.page
    fill_rule(page, "bad-window", "坏时段", "100", during="sometimes")
    expect(page.locator("#rule-error")).to_contain_text("规则未保存")
    expect(page.locator("#rule-error")).to_contain_text("night, day")
    expect(page.locator('#rule-list li[data-rule="bad-window"]')).to_have_count(0)


def test_a_rule_disabled_in_the_browser_is_disabled_on_the_server(
    admin: OfflinePage, managed: ManagedVillage
) -> None:
    page = admin.page
    fill_rule(page, "to-disable", "将停用", "200")
    row = page.locator('#rule-list li[data-rule="to-disable"]')
    row.locator("button.toggle").click()
    expect(row).to_have_attribute("data-enabled", "false")
    rule = httpx.get(f"{managed.url}/api/v1/rules/to-disable").json()
    assert rule["enabled"] is False


def test_a_viewer_sees_the_rules_without_buttons(browser: Browser, managed: ManagedVillage) -> None:
    with offline_page(browser, managed.url) as viewer:
        log_in(viewer.page, managed.url, managed.account(Role.VIEWER), then="/manage/rules")
        expect(viewer.page.locator("#rule-list li[data-rule]").first).to_be_visible()
        assert viewer.page.locator("main button:visible").count() == 0


def test_the_preview_shows_when_a_rule_would_have_fired_and_resolved(
    admin: OfflinePage, managed: ManagedVillage
) -> None:
    hour = 3_600_000
    now = now_ms() // hour * hour
    fired_at, resolved_at = now - 50 * hour, now - 40 * hour
    spike = range(fired_at, resolved_at)
    times = range(now - 72 * hour, now - hour, 1_800_000)
    managed.service.series.write(
        [
            Reading(LAMP.village, LAMP.id, "lamp_power", ts, 300.0 if ts in spike else 40.0)
            for ts in times
        ]
    )
    page = admin.page
    page.locator("#new-rule").click()
    form = page.locator("#rule-form")
    form.locator("input[name=id]").fill("lamp-preview")
    form.locator("input[name=name]").fill("路灯功率过高预览")
    form.locator("select[name=kind]").select_option("threshold")
    form.locator("select[name=sensor]").select_option("lamp_power")
    form.locator("input[name=above]").fill("250")
    form.locator("input[name=device]").fill(LAMP.id)
    page.locator("#preview-rule").click()
    changes = page.locator("#preview-changes li")
    expect(changes).to_have_count(2)
    assert changes.nth(0).get_attribute("data-action") == "fire"
    assert changes.nth(0).get_attribute("data-at") == str(fired_at)
    assert changes.nth(1).get_attribute("data-at") == str(resolved_at)
    expect(changes.nth(1)).to_contain_text("恢复")
    expect(page.locator("#preview-summary")).to_contain_text("触发 1 次")
    expect(page.locator("#preview-chart svg .mark-fire")).to_have_count(1)
    expect(page.locator("#preview-chart svg .mark-resolve")).to_have_count(1)
    # Nothing was saved by looking.
    expect(page.locator('#rule-list li[data-rule="lamp-preview"]')).to_have_count(0)
