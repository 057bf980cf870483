"""A real service on the private Mosquitto, its HTTP server, and one Chromium for the module."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from chromium import launched_browser
from integration.harness import Publisher, make_service
from live_server import serve_http
from manage_site import ManagedVillage
from playwright.sync_api import Browser, ConsoleMessage, expect
from village_data import demo_devices, register, telemetry
from village_view import Village, WatchedPage

from village_brain.auth.roles import Role

from support.waiting import wait_until

# The same bound as the pages' own waits: a page on a loaded two-core machine may take more
# than Playwright's default 5 s to show what arrived.
expect.set_options(timeout=10_000)

HISTORY_MS = 2 * 3_600_000
STEP_MS = 300_000
OPTIONAL_APIS = ("/api/v1/alerts", "/api/v1/rules")


@pytest.fixture(scope="module")
def village(mosquitto, tmp_path_factory) -> Iterator[Village]:
    data_dir = tmp_path_factory.mktemp("dashboard-data")
    service = make_service(mosquitto.url, data_dir, f"dashboard-{time.monotonic_ns()}")
    service.start()
    wait_until(service.receiver.connected.is_set, what="ingest to connect")
    devices = demo_devices(8)
    register(service, devices)
    publisher = Publisher(mosquitto.url)
    now = int(time.time() * 1000)
    expected = 0
    for device in devices:
        for topic, payload in telemetry(device, now - HISTORY_MS, now, STEP_MS):
            publisher.publish(topic, payload)
        expected += len(device.sensors) * (HISTORY_MS // STEP_MS + 1)
    wait_until(lambda: service.stats.stored >= expected, what="the history to be stored")
    try:
        with serve_http(service) as server:
            yield Village(service, server.url, server.app, devices, publisher)
    finally:
        publisher.close()
        service.stop()


@pytest.fixture(scope="module")
def managed(mosquitto, tmp_path_factory) -> Iterator[ManagedVillage]:
    """A village with accounts and strict registration, for the management pages."""
    data_dir = tmp_path_factory.mktemp("manage-data")
    service = make_service(
        mosquitto.url,
        data_dir,
        f"manage-{time.monotonic_ns()}",
        anyone_as=Role.VIEWER,
        ingest={"registration": "strict"},
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


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    yield from launched_browser()


@pytest.fixture
def watched(browser: Browser) -> Iterator[WatchedPage]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(10_000)
    watched = WatchedPage(page)

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error" and not _optional_api_absent(message):
            watched.errors.append(message.text)

    page.on("console", on_console)
    page.on("pageerror", lambda error: watched.errors.append(str(error)))
    yield watched
    context.close()


def _optional_api_absent(message: ConsoleMessage) -> bool:
    """Chromium logs every 404 as an error; a missing alerts or rules API is an expected one."""
    url = message.location.get("url", "")
    return "status of 404" in message.text and url.split("?")[0].endswith(OPTIONAL_APIS)
