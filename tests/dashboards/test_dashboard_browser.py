"""The dashboard in a real Chromium, against a real service fed through the broker."""

from __future__ import annotations

import json
import re

import httpx
import pytest
from playwright.sync_api import Route, expect
from village_view import Village, WatchedPage

from village_brain.auth.roles import Role

from support.waiting import wait_until

pytestmark = pytest.mark.integration


def open_overview(watched: WatchedPage, village: Village) -> None:
    watched.page.goto(village.url + "/")
    expect(watched.page.locator("#devices tbody tr[data-device]")).to_have_count(
        len(village.devices)
    )


def test_overview_shows_every_device_on_the_plan_without_console_errors(
    watched: WatchedPage, village: Village
) -> None:
    open_overview(watched, village)
    page = watched.page
    expect(page.locator("#plan a.device-mark")).to_have_count(len(village.devices))
    expect(page.locator("#count-online")).to_have_text(str(len(village.devices)))
    expect(page.locator("#live-state")).to_have_attribute("data-state", "open")
    assert watched.errors == []


def test_a_reading_published_to_the_broker_appears_without_reload(
    watched: WatchedPage, village: Village
) -> None:
    open_overview(watched, village)
    page = watched.page
    expect(page.locator("#live-state")).to_have_attribute("data-state", "open")
    page.evaluate("window.__sameDocument = true")
    gauge = village.device("river_gauge")
    village.publisher.publish(
        f"village/{gauge.village}/{gauge.id}/telemetry",
        json.dumps({"values": {"water_level": 4.56}}),
    )
    cell = page.locator(f'#devices tr[data-device="{gauge.id}"] [data-sensor="water_level"]')
    expect(cell).to_contain_text("4.56 m")
    assert page.evaluate("window.__sameDocument") is True


def test_device_chart_draws_band_and_mean_from_the_bucketed_series(
    watched: WatchedPage, village: Village
) -> None:
    gauge = village.device("river_gauge")
    page = watched.page
    page.goto(f"{village.url}/devices/{gauge.id}?sensor=water_level")
    mean = page.locator("#chart path.mean")
    expect(mean).to_have_count(1)
    # One line segment per bucket after the first: the hour of history is really drawn.
    assert mean.get_attribute("d").count("L") >= 10
    expect(page.locator("#chart path.band")).to_have_count(1)
    expect(page.locator('#readings [data-sensor="water_level"] .reading-value')).to_contain_text(
        " m"
    )
    assert watched.errors == []


def test_language_switch_changes_the_page_and_is_remembered(
    watched: WatchedPage, village: Village
) -> None:
    open_overview(watched, village)
    page = watched.page
    expect(page.locator("#devices-title")).to_have_text("设备")
    page.get_by_role("button", name="Switch to English").click()
    expect(page.locator("#devices-title")).to_have_text("Devices")
    page.reload()
    expect(page.locator("#plan-title")).to_have_text("Village plan")
    assert page.evaluate("document.documentElement.lang") == "en-GB"


def test_keyboard_focus_reaches_the_main_controls(watched: WatchedPage, village: Village) -> None:
    open_overview(watched, village)
    page = watched.page
    reached: list[str] = []
    for _ in range(40):
        page.keyboard.press("Tab")
        reached.append(
            page.evaluate(
                "(() => { const el = document.activeElement;"
                " return el.id || el.getAttribute('class') || el.tagName; })()"
            )
        )
    for control in ("skip", "lang-switch", "filter-village", "filter-sensor", "device-mark"):
        assert any(control in name for name in reached), f"Tab never reached {control}: {reached}"


def test_alerts_panel_says_so_when_alerts_are_not_enabled(
    watched: WatchedPage, village: Village
) -> None:
    # A server built without the alerts engine answers 404 there.
    watched.page.route(
        re.compile(r".*/api/v1/alerts(\?.*)?$"),
        lambda route: route.fulfill(status=404, json={"error": "not found"}),
    )
    open_overview(watched, village)
    expect(watched.page.locator("#alerts-disabled")).to_have_text("告警功能未启用。")
    expect(watched.page.locator("#count-alerts")).to_have_text("–")


def test_acknowledging_an_alert_posts_only_the_comment(
    watched: WatchedPage, village: Village
) -> None:
    """The panel against the alerts API contract, with the API's answers played by the test:
    who acknowledges is the server's to say, from the login."""
    gauge = village.device("river_gauge")
    alert = played_alert(gauge.id)
    acks: list[dict[str, str]] = []

    def alerts_api(route: Route) -> None:
        if route.request.method == "POST":
            acks.append(route.request.post_data_json)
            alert.update(state="acknowledged", acked_by="王师傅", ack_comment="已去现场查看")
            route.fulfill(json=alert)
        elif route.request.url.endswith("/timeline"):
            route.fulfill(json=[])
        else:
            route.fulfill(json=[alert])

    page = watched.page
    page.route(re.compile(r".*/api/v1/alerts(/.*)?(\?.*)?$"), alerts_api)
    open_overview(watched, village)
    item = page.locator('#alerts-active [data-alert="17"]')
    expect(item).to_contain_text("水位超过警戒线")
    expect(page.locator("#count-alerts")).to_have_text("1")
    expect(page.locator(f'#plan a[data-device="{gauge.id}"]')).to_have_class(
        re.compile("state-alerting")
    )
    item.get_by_text("确认", exact=True).click()
    expect(item.get_by_label("确认人")).to_have_count(0)
    item.get_by_label("备注").fill("已去现场查看")
    item.get_by_role("button", name="提交确认").click()
    expect(item).to_contain_text("已由 王师傅 确认")
    assert acks == [{"comment": "已去现场查看"}]


def test_a_silenced_alert_says_so(watched: WatchedPage, village: Village) -> None:
    gauge = village.device("river_gauge")
    alert = played_alert(gauge.id, silenced=True, silenced_by=["sil_1"], assignee="陈电工")
    watched.page.route(
        re.compile(r".*/api/v1/alerts(\?.*)?$"), lambda route: route.fulfill(json=[alert])
    )
    open_overview(watched, village)
    item = watched.page.locator('#alerts-active [data-alert="17"]')
    expect(item.locator(".silenced")).to_have_text("已静默")
    expect(item).to_contain_text("负责人：陈电工")


def played_alert(device: str, **fields: object) -> dict[str, object]:
    """An alert as the alerts API answers it (AlertOut)."""
    return {
        "id": 17,
        "state": "firing",
        "severity": "critical",
        "rule_id": "river_danger",
        "rule_name": "河道水位超过危险线",
        "kind": "threshold",
        "message": "水位超过警戒线",
        "village": "xiashan",
        "device": device,
        "device_name": "",
        "place": "",
        "lat": None,
        "lon": None,
        "sensor": "water_level",
        "event": None,
        "value": 3.2,
        "unit": "m",
        "started": "2023-11-14T22:13:20.000Z",
        "started_ms": 1_700_000_000_000,
        "updated_ms": 1_700_000_000_000,
        "acked_by": None,
        "ack_comment": None,
        "acked": None,
        "resolved": None,
        "reminders": 0,
        "link": "",
        "silenced": False,
        "silenced_by": [],
        "assignee": None,
        **fields,
    }


def test_an_operator_claims_and_resolves_a_real_alert_and_sees_who_did_what(
    watched: WatchedPage, village: Village
) -> None:
    if httpx.get(f"{village.url}/api/v1/alerts").status_code == 404:
        pytest.skip("the alerts API is not part of this build")
    village.service.accounts.add("值班员", Role.OPERATOR, "river-bank-7", 0)
    lamp = village.device("street_lamp")
    rule = {
        "id": "dashboard-test-lamp-power",
        "name": "Lamp drawing too much",
        "severity": "warning",
        "kind": "threshold",
        "sensor": "lamp_power",
        "device": lamp.id,
        "above": 90.0,
    }
    assert httpx.post(f"{village.url}/api/v1/rules", json=rule).status_code == 201
    village.publisher.publish(
        f"village/{lamp.village}/{lamp.id}/telemetry", json.dumps({"values": {"lamp_power": 120}})
    )

    def firing() -> list[dict[str, object]]:
        found = httpx.get(f"{village.url}/api/v1/alerts", params={"state": "firing"}).json()
        return [a for a in found if a["rule_id"] == rule["id"]]

    alert = wait_until(firing, what="the lamp alert to fire")[0]
    page = watched.page
    page.goto(village.url + "/login")
    page.get_by_label("用户名").fill("值班员")
    page.get_by_label("密码").fill("river-bank-7")
    page.get_by_role("button", name="登录").click()
    item = page.locator(f'#alerts-active [data-alert="{alert["id"]}"]')
    item.get_by_role("button", name="认领").click()
    expect(item).to_contain_text("负责人：值班员")
    item.get_by_text("手动恢复", exact=True).click()
    item.get_by_label("处理说明").fill("电工已更换镇流器")
    item.get_by_role("button", name="提交恢复").click()
    past = page.locator(f'#alerts-history [data-alert="{alert["id"]}"]')
    expect(past).to_contain_text("已恢复")
    past.get_by_role("button", name="处理记录").click()
    expect(past.locator(".timeline li")).to_have_count(3)
    expect(past.locator('.timeline li[data-kind="resolved"]')).to_contain_text(
        "值班员：电工已更换镇流器"
    )
    stored = httpx.get(f"{village.url}/api/v1/alerts/{alert['id']}").json()
    assert (stored["state"], stored["assignee"]) == ("resolved", "值班员")
