"""Silencing an alert from the alerts panel, and ending the silence, in Debian's Chromium."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from manage_site import ManagedVillage, OfflinePage, log_in, offline_page
from playwright.sync_api import Browser, expect
from village_data import demo_devices

from village_brain.auth.roles import Role

from support.waiting import wait_until

pytestmark = pytest.mark.integration
expect.set_options(timeout=10_000)
LAMP = next(d for d in demo_devices(8) if d.kind == "street_lamp")


@pytest.fixture(scope="module")
def lamp_alert(managed: ManagedVillage) -> dict:
    """A firing alert of the street lamp, from a rule made for it."""
    token = managed.service.accounts.add_token(managed.account(Role.ADMIN), 0)
    rule = {"id": "silence-lamp", "name": "路灯功率偏高", "severity": "warning",
            "kind": "threshold", "sensor": "lamp_power", "above": 120.0}  # fmt: skip
    made = httpx.post(
        f"{managed.url}/api/v1/rules", json=rule, headers={"Authorization": f"Bearer {token}"}
    )
    assert made.status_code == 201, made.text
    managed.publisher.publish(
        f"village/{LAMP.village}/{LAMP.id}/telemetry", json.dumps({"values": {"lamp_power": 180}})
    )

    def fired() -> list[dict]:
        alerts = httpx.get(f"{managed.url}/api/v1/alerts").json()
        return [a for a in alerts if a["rule_id"] == "silence-lamp"]

    return wait_until(fired, what="the lamp's alert")[0]


@pytest.fixture
def operator(browser: Browser, managed: ManagedVillage) -> Iterator[OfflinePage]:
    with offline_page(browser, managed.url) as watched:
        log_in(watched.page, managed.url, managed.account(Role.OPERATOR))
        yield watched
        assert watched.foreign == [] and watched.errors == []


def test_an_operator_silences_an_alert_and_ends_the_silence(
    operator: OfflinePage, managed: ManagedVillage, lamp_alert: dict
) -> None:
    page = operator.page
    item = page.locator(f'#alerts-active li[data-alert="{lamp_alert["id"]}"]')
    item.locator("details.silence summary").click()
    item.locator("details.silence select[name=duration]").select_option("2h")
    item.locator("details.silence textarea[name=reason]").fill("更换路灯灯头")
    item.locator("details.silence button[type=submit]").click()
    expect(item).to_have_attribute("data-silenced", "yes")
    listed = page.locator("#silences li[data-silence]", has_text="更换路灯灯头")
    expect(listed).to_have_count(1)
    expect(listed).to_contain_text(LAMP.id)
    silences = managed.service.alerts.silencer.silences()
    (silence,) = [s for s in silences if s.reason == "更换路灯灯头"]
    assert silence.ends_ms - silence.starts_ms == 2 * 3_600_000
    assert (silence.matchers.rule, silence.matchers.device) == ("silence-lamp", LAMP.id)
    listed.locator("button.end-silence").click()
    expect(listed).to_have_count(0)
    expect(item).to_have_attribute("data-silenced", "no")


def test_a_viewer_sees_no_silence_button(
    browser: Browser, managed: ManagedVillage, lamp_alert: dict
) -> None:
    with offline_page(browser, managed.url) as watched:
        log_in(watched.page, managed.url, managed.account(Role.VIEWER))
        item = watched.page.locator(f'#alerts-active li[data-alert="{lamp_alert["id"]}"]')
        expect(item).to_have_count(1)
        expect(item.locator("details.silence")).to_have_count(0)
        expect(watched.page.locator("#silences")).to_have_count(0)
