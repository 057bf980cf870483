"""A device whose messages are all refused, in a real Chromium: not shown as healthy, counted
beside the offline ones, and the reason for its latest refusal in words on its page."""

from __future__ import annotations

import json
import re

import httpx
import pytest
from playwright.sync_api import expect
from village_view import Village, WatchedPage

from village_brain.core.devices import Device
from village_brain.simulator import SimDevice

from support.waiting import wait_until

pytestmark = pytest.mark.integration


def health(village: Village, device: SimDevice) -> str:
    return httpx.get(f"{village.url}/api/v1/devices/{device.id}").json()["health"]


def send_refused_reading(village: Village, device: SimDevice) -> None:
    # Text where a number belongs: refused as wrong_type, and nothing else in the message.
    village.publisher.publish(
        f"village/{device.village}/{device.id}/telemetry",
        json.dumps({"values": {"water_level": "high"}}),
    )
    wait_until(lambda: health(village, device) == "refused", what="the device to be refused")


def open_overview(watched: WatchedPage, village: Village) -> None:
    watched.page.goto(village.url + "/")
    expect(watched.page.locator("#devices tbody tr[data-device]")).to_have_count(
        len(village.devices)
    )


def test_the_overview_counts_a_refused_device_apart_and_marks_it_so(
    watched: WatchedPage, village: Village
) -> None:
    gauge = village.device("river_gauge")
    send_refused_reading(village, gauge)
    open_overview(watched, village)
    page = watched.page
    expect(page.locator("#count-refused")).to_have_text("1")
    expect(page.locator("#count-online")).to_have_text(str(len(village.devices) - 1))
    expect(page.locator("#count-offline")).to_have_text("0")
    row = page.locator(f'#devices tr[data-device="{gauge.id}"]')
    expect(row).to_have_attribute("data-state", "refused")
    expect(row.locator(".badge")).to_have_text("上报被拒收")
    expect(page.locator(f'#plan a[data-device="{gauge.id}"]')).to_have_class(
        re.compile("state-refused")
    )
    assert watched.errors == []


def test_the_device_page_gives_the_latest_reason_in_words_in_both_languages(
    watched: WatchedPage, village: Village
) -> None:
    gauge = village.device("river_gauge")
    send_refused_reading(village, gauge)
    page = watched.page
    page.goto(f"{village.url}/devices/{gauge.id}")
    refusal = page.locator("#device-refusal")
    expect(refusal).to_contain_text("上报被拒收")
    expect(refusal.locator("strong")).to_have_text("数值类型不对")
    expect(page.locator("#device-meta .badge")).to_have_attribute("data-state", "refused")
    page.get_by_role("button", name="Switch to English").click()
    expect(refusal).to_contain_text("Reporting, but refused")
    expect(refusal.locator("strong")).to_have_text("a value of the wrong kind")
    assert watched.errors == []


def test_a_stored_reading_makes_a_refused_device_ok_without_reload(
    watched: WatchedPage, village: Village
) -> None:
    gauge = village.device("river_gauge")
    send_refused_reading(village, gauge)
    open_overview(watched, village)
    page = watched.page
    expect(page.locator("#count-refused")).to_have_text("1")
    expect(page.locator("#live-state")).to_have_attribute("data-state", "open")
    village.publisher.publish(
        f"village/{gauge.village}/{gauge.id}/telemetry",
        json.dumps({"values": {"water_level": 1.42}}),
    )
    expect(page.locator("#count-refused")).to_have_text("0")
    expect(page.locator(f'#devices tr[data-device="{gauge.id}"]')).to_have_attribute(
        "data-state", "ok"
    )


def test_the_device_page_shows_a_foreign_devices_own_id(
    watched: WatchedPage, village: Village
) -> None:
    village.service.register_devices(
        [Device(id="kitchen-sensor-3b1f0a", village="xiashan", foreign_id="Kitchen Sensor")]
    )
    watched.page.goto(f"{village.url}/devices/kitchen-sensor-3b1f0a")
    expect(watched.page.locator("#device-meta .foreign-id")).to_have_text("Kitchen Sensor")
    assert watched.errors == []
