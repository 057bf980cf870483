"""Charts of the device page, and the overview's counts, in Debian's Chromium, offline."""

from __future__ import annotations

import json
import time
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
RULES = [
    {"id": "lamp-high", "name": "功率偏高", "severity": "warning", "kind": "threshold",
     "sensor": "lamp_power", "above": 60.0},
    {"id": "lamp-very-high", "name": "功率过高", "severity": "major", "kind": "threshold",
     "sensor": "lamp_power", "above": 62.0},
]  # fmt: skip


@pytest.fixture(scope="module")
def lamp_history(managed: ManagedVillage) -> ManagedVillage:
    """An hour of lamp readings switching on and off, two rules on its power, one alert."""
    admin = managed.account(Role.ADMIN)
    headers = {"Authorization": f"Bearer {managed.service.accounts.add_token(admin, 0)}"}
    for rule in RULES:
        made = httpx.post(f"{managed.url}/api/v1/rules", json=rule, headers=headers)
        assert made.status_code == 201, made.text
    now = int(time.time() * 1000)
    batch = [
        {"ts": now - 3_600_000 + i * 300_000, "values": {"lamp_state": i % 4 < 2, "lamp_power": 40}}
        for i in range(12)
    ]
    topic = f"village/{LAMP.village}/{LAMP.id}/telemetry"
    managed.publisher.publish(topic, json.dumps({"batch": batch}))
    managed.publisher.publish(topic, json.dumps({"values": {"lamp_power": 61}}))

    def alerted() -> list[object]:
        alerts = httpx.get(f"{managed.url}/api/v1/alerts", headers=headers).json()
        return [a for a in alerts if a["rule_id"] == "lamp-high"]

    wait_until(alerted, what="the lamp alert to fire")
    return managed


@pytest.fixture
def viewer(browser: Browser, lamp_history: ManagedVillage) -> Iterator[OfflinePage]:
    with offline_page(browser, lamp_history.url) as page:
        log_in(page.page, lamp_history.url, lamp_history.account(Role.VIEWER))
        yield page
        assert page.foreign == [] and page.errors == []


def test_an_on_off_sensor_is_a_step_chart_labelled_in_words(
    viewer: OfflinePage, lamp_history: ManagedVillage
) -> None:
    page = viewer.page
    page.goto(f"{lamp_history.url}/devices/{LAMP.id}?sensor=lamp_state")
    expect(page.locator("#chart path.step")).to_have_count(1)
    labels = page.locator("#chart .axes text").all_text_contents()
    assert "亮" in labels and "灭" in labels
    assert not any("." in text for text in labels if not text[:1].isdigit())
    expect(page.locator("#chart path.band")).to_have_count(0)
    expect(page.locator("#chart-caption")).to_contain_text("的时间为“亮”")


def test_each_threshold_line_is_labelled_with_its_rule_name(
    viewer: OfflinePage, lamp_history: ManagedVillage
) -> None:
    page = viewer.page
    page.goto(f"{lamp_history.url}/devices/{LAMP.id}?sensor=lamp_power")
    labels = page.locator("#chart .threshold-label")
    mine = [labels.filter(has_text=name) for name in ("功率偏高", "功率过高")]
    for label in mine:
        expect(label).to_have_count(1)
    # Every line has its own rule's name (the default rules' too), none a generic word.
    assert not any(text.startswith("告警阈值") for text in labels.all_text_contents())
    # Two thresholds 2 W apart: their labels are moved apart instead of overprinting. Read in
    # one go, as the chart is redrawn whenever readings or alerts arrive.
    gap, height = page.evaluate(
        """() => {
          const boxes = [...document.querySelectorAll('#chart .threshold-label')]
            .filter((el) => /^功率(偏高|过高)/.test(el.textContent))
            .map((el) => el.getBBox());
          return [Math.abs(boxes[0].y - boxes[1].y), boxes[0].height];
        }"""
    )
    assert gap >= height * 0.9


def test_the_alert_is_marked_on_the_time_axis(
    viewer: OfflinePage, lamp_history: ManagedVillage
) -> None:
    page = viewer.page
    page.goto(f"{lamp_history.url}/devices/{LAMP.id}?sensor=lamp_power")
    expect(page.locator("#chart .alert-mark")).to_have_count(1)


def test_nothing_is_drawn_outside_the_plot(
    viewer: OfflinePage, lamp_history: ManagedVillage
) -> None:
    page = viewer.page
    page.goto(f"{lamp_history.url}/devices/{LAMP.id}?sensor=lamp_power")
    expect(page.locator("#chart path.mean")).to_have_count(1)
    outside = page.evaluate(
        """() => {
          const svg = document.getElementById('chart');
          const clip = svg.querySelector('clipPath rect').getBBox();
          const data = svg.querySelector('g.data');
          const id = svg.querySelector('clipPath').id;
          if (data.getAttribute('clip-path') !== `url(#${id})`) return 'data not clipped';
          const right = clip.x + clip.width;
          for (const el of svg.querySelectorAll('.thresholds line, .alert-marks rect')) {
            const box = el.getBBox();
            if (box.x + box.width > right + 0.5 || box.x < clip.x - 0.5) return el.outerHTML;
          }
          return svg.viewBox.baseVal.width - right >= 0 ? null : 'clip wider than chart';
        }"""
    )
    assert outside is None


def test_an_offline_alerting_device_says_both_as_the_counts_do(
    viewer: OfflinePage, lamp_history: ManagedVillage
) -> None:
    lamp_history.publisher.publish(f"village/{LAMP.village}/{LAMP.id}/status", "offline")
    page = viewer.page
    page.goto(lamp_history.url + "/")
    row = page.locator(f'#devices tr[data-device="{LAMP.id}"]')
    expect(row).to_have_attribute("data-state", "alerting")
    expect(row.locator(".badge")).to_have_text(["告警", "离线"])
    offline = int(page.locator("#count-offline").text_content() or "0")
    shown = page.locator("#devices tr[data-device] .badge.state-offline").count()
    assert offline == shown


def test_two_sensors_of_a_device_share_one_chart_each_on_its_own_scale(
    viewer: OfflinePage, lamp_history: ManagedVillage
) -> None:
    page = viewer.page
    page.goto(f"{lamp_history.url}/devices/{LAMP.id}?sensor=lamp_power&with=lamp_state")
    expect(page.locator("#chart path.second-line")).not_to_have_count(0)
    expect(page.locator("#chart path.mean")).to_have_count(1)
    right = page.locator("#chart .second-axis text").all_text_contents()
    assert "亮" in right and "灭" in right
    expect(page.locator("#chart .chart-key")).to_contain_text("路灯功率")
    expect(page.locator("#chart .chart-key")).to_contain_text("路灯开关")
    page.locator("#chart-sensor-2").select_option("")
    expect(page.locator("#chart path.second-line")).to_have_count(0)
