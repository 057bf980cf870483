"""Write docs/screenshots/*.png: every page of the dashboard, on a desktop and on a phone.

Run from the repository: .venv/bin/python tests/dashboards/make_screenshots.py [--out DIR]
It starts a private Mosquitto, a real service and its HTTP server, feeds a day of history
through the broker (with a flood on the river gauge, so rules fire and resolve), two local
webhook receivers (one that takes messages, one that refuses them), and photographs the
pages in Chromium: first start, login, overview, alerts, device pages, alert history and
the management pages, and a villager's report worked in the queue. It also works imported
(tests/dashboards/test_make_screenshots.py runs it into a temporary directory), so it
cannot rot unnoticed.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
# The tests' helpers, whether this runs as a script (its own folder is on the path then) or is
# imported from elsewhere (it is not).
for folder in (TESTS, TESTS / "dashboards", TESTS / "alerts"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

import httpx  # noqa: E402
from chromium import LAUNCH_ARGS, ensure_chromium, ensure_cjk_fonts  # noqa: E402
from integration.harness import Publisher, make_service  # noqa: E402
from live_server import serve_http  # noqa: E402
from manage_site import PASSWORD, PHONE, log_in  # noqa: E402
from playwright.sync_api import Browser, Page, sync_playwright  # noqa: E402
from receivers import receiving  # noqa: E402
from village_data import SimDevice, demo_devices, register, telemetry  # noqa: E402

from village_brain.auth.roles import Role  # noqa: E402
from village_brain.service import Service  # noqa: E402

from support.mosquitto import start_private_mosquitto  # noqa: E402
from support.waiting import wait_until  # noqa: E402

OUT = TESTS.parent / "docs" / "screenshots"
STEP_MS = 300_000
HOUR_MS = 3_600_000
DESKTOP = {"width": 1280, "height": 860}
ADMIN = "wang"
# One attempt per delivery, so the refusing receiver leaves a failed delivery to re-send.
ALERTS = {"max_attempts": 1, "notify": {"group_wait": "0s"}}


def main(argv: list[str] | None = None) -> list[Path]:
    """The screenshots written."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT, help=f"where to write ({OUT})")
    parser.add_argument("--devices", type=int, default=24, help="simulated devices")
    parser.add_argument("--hours", type=int, default=24, help="history fed before shooting")
    parser.add_argument(
        "--any-font", action="store_true", help="do not install a CJK font (for a quick check)"
    )
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    if not args.any_font:
        ensure_cjk_fonts()
    with tempfile.TemporaryDirectory() as tmp:
        broker = start_private_mosquitto(Path(tmp) / "mosquitto")
        service = make_service(
            broker.url,
            Path(tmp) / "data",
            f"screenshots-{time.monotonic_ns()}",
            anyone_as=None,
            alerts=ALERTS,
        )
        try:
            service.start()
            wait_until(service.receiver.connected.is_set, what="ingest to connect")
            return shoot(service, broker.url, args.out, args.devices, args.hours * HOUR_MS)
        finally:
            service.stop()
            broker.stop()


def feed(service: Service, broker_url: str, devices: list[SimDevice], history_ms: int) -> None:
    """A day of readings, with the river over its warning line for a while."""
    publisher = Publisher(broker_url)
    now = int(time.time() * 1000)
    gauge = next(d for d in devices if d.kind == "river_gauge")
    flood = (now - history_ms // 2, now - history_ms // 2 + history_ms // 8)
    expected = 0
    for device in devices:
        for topic, payload in telemetry(device, now - history_ms, now, STEP_MS):
            publisher.publish(topic, flooded(payload, *flood) if device is gauge else payload)
        expected += len(device.sensors) * (history_ms // STEP_MS + 1)
    wait_until(
        lambda: service.stats.stored >= expected,
        timeout=180,
        what=f"history to be stored ({expected} readings)",
    )
    publisher.close()


def rise(service: Service, broker_url: str, devices: list[SimDevice]) -> None:
    """The river over its danger line now, and a manhole cover gone offline."""
    publisher = Publisher(broker_url)
    gauge = next(d for d in devices if d.kind == "river_gauge")
    now = int(time.time() * 1000)
    topic = f"village/{gauge.village}/{gauge.id}/telemetry"
    rising = [{"ts": now - 180_000, "values": {"water_level": 3.0}}]
    rising.append({"ts": int(time.time() * 1000), "values": {"water_level": 3.3}})
    publisher.publish(topic, json.dumps({"batch": rising}))
    # One manhole cover lost its link: its Last Will says so.
    lost = next(d for d in devices if d.kind == "manhole_cover")
    publisher.publish(f"village/{lost.village}/{lost.id}/status", "offline")
    wait_until(
        lambda: service.alerts.store.alerts(device=gauge.id, severity="critical"),
        what="the river over its danger line",
    )
    publisher.close()


def flooded(payload: str, start_ms: int, end_ms: int) -> str:
    """The gauge's history message with the river over its warning line in [start, end)."""
    message = json.loads(payload)
    for entry in message["batch"]:
        if start_ms <= entry["ts"] < end_ms:
            entry["values"]["water_level"] = 2.85
    return json.dumps(message)


def shoot(service: Service, broker_url: str, out: Path, count: int, history_ms: int) -> list[Path]:
    devices = demo_devices(count)
    register(service, devices)
    gauge = next(d for d in devices if d.kind == "river_gauge")
    lamp = next(d for d in devices if d.kind == "street_lamp")
    taken = (200, {"ok": True, "message": "已收到"})
    refused = (403, {"error": "token expired"})
    with (
        serve_http(service) as server,
        receiving(lambda _n: taken) as taker,
        receiving(lambda _n: refused) as refuser,
        sync_playwright() as playwright,
    ):
        browser = playwright.chromium.launch(
            executable_path=str(ensure_chromium()), args=LAUNCH_ARGS
        )
        url = server.url
        phone = page_of(browser, PHONE)
        if service.auth.setup is not None:  # a first start: no admin yet
            phone.goto(url + service.auth.setup.path)
            phone.wait_for_selector("#setup-form:not([hidden])")
            phone.screenshot(path=out / "setup-phone.png", full_page=True)
        service.accounts.add(ADMIN, Role.ADMIN, PASSWORD, 0)
        token = service.accounts.add_token(ADMIN, 0)
        api = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"})
        # The history first: the channels hear only of the alerts of now.
        feed(service, broker_url, devices, history_ms)
        for name, receiver in (("村委值班群", taker), ("乡应急办", refuser)):
            body = {"name": name, "url": receiver.url, "allow_private": True}
            api.post("/api/v1/webhooks", json=body).raise_for_status()
        rise(service, broker_url, devices)
        failed = lambda: service.alerts.store.deliveries("failed", None, None, 1)  # noqa: E731
        wait_until(failed, what="a failed delivery")
        phone.goto(f"{url}/login")
        phone.wait_for_selector("#login-form")
        phone.screenshot(path=out / "login-phone.png")
        log_in(phone, url, ADMIN)
        desktop = page_of(browser, DESKTOP)
        log_in(desktop, url, ADMIN)
        overview(desktop, url, out / "overview.png")
        overview(phone, url, out / "overview-phone.png")
        alerts_card(desktop, out / "alerts.png")
        device(desktop, f"{url}/devices/{gauge.id}?sensor=water_level", out / "device.png")
        device(desktop, f"{url}/devices/{lamp.id}?sensor=lamp_state", out / "device-lamp.png")
        device(phone, f"{url}/devices/{gauge.id}?sensor=water_level", out / "device-phone.png")
        desktop.goto(f"{url}/alerts/history")
        desktop.wait_for_selector(".history-list li[data-alert]")
        desktop.screenshot(path=out / "alert-history.png")
        desktop.goto(f"{url}/manage/devices")
        desktop.wait_for_selector("[data-device]")
        desktop.screenshot(path=out / "manage-devices.png")
        phone.goto(f"{url}/manage/devices")
        phone.wait_for_selector("[data-device]")
        phone.screenshot(path=out / "manage-devices-phone.png")
        desktop.goto(f"{url}/manage/users")
        desktop.wait_for_selector("[data-user]")
        desktop.screenshot(path=out / "manage-users.png")
        rules(desktop, url, out / "manage-rules.png")
        channels(desktop, url, out / "manage-channels.png")
        reports(browser, url, lamp, desktop, phone, out)
        api.close()
        browser.close()
    written = sorted(out.glob("*.png"))
    print(f"wrote {', '.join(p.name for p in written)} to {out}")
    return written


def page_of(browser: Browser, viewport: dict[str, int]) -> Page:
    page = browser.new_context(viewport=viewport, locale="zh-CN").new_page()
    page.set_default_timeout(20_000)
    return page


def overview(page: Page, url: str, path: Path) -> None:
    page.goto(url + "/")
    page.wait_for_selector("#plan a.device-mark")
    page.wait_for_selector("#alerts-active li[data-alert]")
    settle(page)
    page.screenshot(path=path, full_page=True)


def alerts_card(page: Page, path: Path) -> None:
    """The alerts panel with the silence form of the first alert open."""
    first = page.locator("#alerts-active li[data-alert]").first
    first.locator("details.silence summary").click()
    first.locator("details.silence textarea").fill("北桥水位计检修")
    page.locator("#alerts").screenshot(path=path)


def device(page: Page, address: str, path: Path) -> None:
    page.goto(address)
    page.get_by_text("1 天").click()
    page.wait_for_function("document.querySelector('#chart path, #chart polyline')")
    settle(page)
    page.screenshot(path=path)


def rules(page: Page, url: str, path: Path) -> None:
    page.goto(f"{url}/manage/rules")
    page.locator('#rule-list li[data-rule="river_warning"] button.preview').click()
    page.wait_for_selector("#preview-changes li")
    page.screenshot(path=path)


def channels(page: Page, url: str, path: Path) -> None:
    page.goto(f"{url}/manage/channels")
    page.wait_for_selector(".deliveries li[data-state=failed]")
    row = page.locator("#channel-list li[data-channel]", has_text="村委值班群")
    row.locator("button.test").click()
    row.locator(".test-answer").wait_for()
    page.locator("#allow-private").check()
    page.screenshot(path=path, full_page=True)


def reports(
    browser: Browser, url: str, lamp: SimDevice, desktop: Page, phone: Page, out: Path
) -> None:
    """A villager's report from the phone page beside a dark lamp, worked in the queue, and
    the villager's status page with the answer."""
    here = {"latitude": lamp.lat, "longitude": lamp.lon}
    villager = browser.new_context(
        viewport=PHONE, locale="zh-CN", geolocation=here, permissions=["geolocation"]
    ).new_page()
    villager.set_default_timeout(20_000)
    villager.goto(f"{url}/report")
    villager.wait_for_selector("#report-form[data-ready]")
    villager.get_by_label("路灯照明").check()
    villager.locator("#rp-description").fill("桥头的路灯不亮，晚上走路很黑")
    villager.locator("#rp-locate").click()
    villager.wait_for_function("document.querySelector('#rp-position').textContent.length > 0")
    villager.locator("#rp-place").fill("桥头")
    villager.screenshot(path=out / "report-phone.png", full_page=True)
    villager.locator("#rp-submit").click()
    villager.wait_for_selector("#rp-done:not([hidden])")
    status_link = villager.locator("#rp-link").get_attribute("href") or ""
    desktop.goto(f"{url}/work")
    row = desktop.locator("#wq-list li[data-item]", has_text="桥头的路灯不亮")
    row.locator("button.open-item").click()
    # The queue links the report to the lamp beside it a moment after it arrives.
    desktop.wait_for_selector("#wq-timeline li[data-kind=linked]")
    desktop.locator("#wa-department").select_option("村建")
    desktop.locator("#wa-assign button[type=submit]").click()
    desktop.wait_for_selector("#wq-timeline li[data-kind=assigned]")
    desktop.locator("#wa-reply textarea").fill("已派村建组，今晚换灯泡。")
    desktop.locator("#wa-reply button[type=submit]").click()
    desktop.wait_for_selector("#wq-timeline li[data-kind=reply]")
    settle(desktop)
    desktop.screenshot(path=out / "work.png", full_page=True)
    item = row.get_attribute("data-item")
    phone.goto(f"{url}/work?item={item}")
    phone.wait_for_selector("#wq-timeline li[data-kind=reply]")
    settle(phone)
    phone.screenshot(path=out / "work-phone.png", full_page=True)
    villager.goto(status_link)
    villager.wait_for_selector("#st-replies li")
    villager.screenshot(path=out / "report-status-phone.png", full_page=True)
    villager.context.close()


def settle(page: Page) -> None:
    # Let the live feed connect and the highlight of fresh rows fade.
    page.wait_for_selector('#live-state[data-state="open"]')
    page.wait_for_timeout(1800)


if __name__ == "__main__":
    main()
