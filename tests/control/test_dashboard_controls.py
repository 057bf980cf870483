"""The device page's controls in a real Chromium: a click turns a simulated lamp on."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from dashboards.chromium import launched_browser
from dashboards.live_server import serve_http
from integration.harness import make_service
from playwright.sync_api import expect

from village_brain.core.devices import Device
from village_brain.simulator.layout import SimDevice
from village_brain.simulator.obey import Temper
from village_brain.simulator.runner import Simulator

from support.waiting import wait_until

pytestmark = pytest.mark.integration

LAMPS = [
    SimDevice("lamp-good", "xiashan", "street_lamp", 30.61, 119.60, "村口", ("lamp_state",)),
    SimDevice("lamp-stuck", "xiashan", "street_lamp", 30.61, 119.60, "桥头", ("lamp_state",)),
]
SIREN = Device("siren-1", "xiashan", kind="siren", sensors=("siren_state",))


@pytest.fixture(scope="module")
def site(mosquitto, tmp_path_factory) -> Iterator[str]:
    service = make_service(
        mosquitto.url, tmp_path_factory.mktemp("controls"), f"controls-{time.monotonic_ns()}"
    )
    service.start()
    wait_until(service.receiver.connected.is_set, what="ingest to connect")
    service.register_devices([*(d.registry_entry() for d in LAMPS), SIREN])
    good = Simulator(mosquitto.url, LAMPS[:1], rate=2.0, temper=Temper(fail=0, silent=0))
    stuck = Simulator(mosquitto.url, LAMPS[1:], rate=2.0, temper=Temper(fail=1, silent=0))
    good.start()
    stuck.start()
    try:
        with serve_http(service) as server:
            yield server.url
    finally:
        good.stop()
        stuck.stop()
        service.stop()


@pytest.fixture(scope="module")
def browser():
    yield from launched_browser()


@pytest.fixture
def page(browser):
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert errors == []


def test_a_click_turns_the_lamp_on_and_the_page_shows_done_from_its_answer(site, page):
    page.goto(f"{site}/devices/lamp-good")
    page.locator('#control-buttons [data-target="lamp_state"] button[data-value="on"]').click()
    expect(page.locator("#control-status")).to_have_attribute("data-state", "done", timeout=30_000)
    expect(page.locator("#control-status")).to_contain_text("已完成")
    expect(page.locator("#command-list li[data-state=done]")).to_have_count(1)


def test_a_failed_command_shows_the_devices_reason(site, page):
    page.goto(f"{site}/devices/lamp-stuck")
    page.locator('#control-buttons [data-target="lamp_state"] button[data-value="off"]').click()
    status = page.locator("#control-status")
    expect(status).to_have_attribute("data-state", "failed", timeout=30_000)
    expect(status).to_contain_text("the actuator did not move")


def test_a_dangerous_target_is_sent_only_once_confirmed(site, page):
    page.goto(f"{site}/devices/siren-1")
    asked: list[str] = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    page.locator('#control-buttons [data-target="siren_state"] button[data-value="on"]').click()
    wait_until(lambda: asked, what="the confirmation")
    expect(page.locator("#command-list li.muted")).to_have_count(1)  # nothing was sent
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator('#control-buttons [data-target="siren_state"] button[data-value="on"]').click()
    expect(page.locator("#control-status")).to_have_attribute("data-state", "sent")
