"""Write docs/screenshots/*.png: the overview, a device page and the first-admin page.

Run from the repository: .venv/bin/python tests/dashboards/make_screenshots.py [--out DIR]
It starts a private Mosquitto, a real service and its HTTP server, feeds a day of history
through the broker, and photographs the pages in Chromium at desktop (and phone) width.
It also works imported (tests/dashboards/test_make_screenshots.py runs it into a temporary
directory), so it cannot rot unnoticed.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
# The tests' helpers, whether this runs as a script (its own folder is on the path then) or is
# imported from elsewhere (it is not).
for folder in (TESTS, TESTS / "dashboards"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

from chromium import LAUNCH_ARGS, ensure_chromium, ensure_cjk_fonts  # noqa: E402
from integration.harness import Publisher, make_service  # noqa: E402
from live_server import serve_http  # noqa: E402
from playwright.sync_api import Page, sync_playwright  # noqa: E402
from village_data import demo_devices, register, telemetry  # noqa: E402

from village_brain.service import Service  # noqa: E402

from support.mosquitto import start_private_mosquitto  # noqa: E402
from support.waiting import wait_until  # noqa: E402

OUT = TESTS.parent / "docs" / "screenshots"
STEP_MS = 300_000


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
        service = make_service(broker.url, Path(tmp) / "data", f"screenshots-{time.monotonic_ns()}")
        try:
            service.start()
            wait_until(service.receiver.connected.is_set, what="ingest to connect")
            return shoot(service, broker.url, args.out, args.devices, args.hours * 3_600_000)
        finally:
            service.stop()
            broker.stop()


def shoot(service: Service, broker_url: str, out: Path, count: int, history_ms: int) -> list[Path]:
    devices = demo_devices(count)
    register(service, devices)
    publisher = Publisher(broker_url)
    now = int(time.time() * 1000)
    expected = 0
    for device in devices:
        for topic, payload in telemetry(device, now - history_ms, now, STEP_MS):
            publisher.publish(topic, payload)
        expected += len(device.sensors) * (history_ms // STEP_MS + 1)
    # One manhole cover lost its link: its Last Will says so.
    lost = next(d for d in devices if d.kind == "manhole_cover")
    publisher.publish(f"village/{lost.village}/{lost.id}/status", "offline")
    wait_until(lambda: service.stats.stored >= expected, timeout=60, what="history to be stored")
    publisher.close()
    gauge = next(d for d in devices if d.kind == "river_gauge")
    with serve_http(service) as server, sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(ensure_chromium()), args=LAUNCH_ARGS
        )
        desktop = browser.new_page(viewport={"width": 1280, "height": 900}, locale="zh-CN")
        overview(desktop, server.url, out / "overview.png")
        desktop.goto(f"{server.url}/devices/{gauge.id}?sensor=water_level")
        desktop.get_by_text("1 天").click()
        desktop.wait_for_function("document.querySelector('#chart path.mean')")
        settle(desktop)
        desktop.screenshot(path=out / "device.png", full_page=True)
        phone = browser.new_page(viewport={"width": 390, "height": 844}, locale="zh-CN")
        overview(phone, server.url, out / "overview-phone.png")
        if service.auth.setup is not None:  # a first start: no admin yet
            phone.goto(server.url + service.auth.setup.path)
            phone.wait_for_selector("#setup-form:not([hidden])")
            phone.screenshot(path=out / "setup-phone.png", full_page=True)
        browser.close()
    written = sorted(out.glob("*.png"))
    print(f"wrote {', '.join(p.name for p in written)} to {out}")
    return written


def overview(page: Page, url: str, path: Path) -> None:
    page.goto(url + "/")
    page.wait_for_selector("#plan a.device-mark")
    settle(page)
    page.screenshot(path=path, full_page=True)


def settle(page: Page) -> None:
    # Let the live feed connect and the highlight of fresh rows fade.
    page.wait_for_selector('#live-state[data-state="open"]')
    page.wait_for_timeout(1800)


if __name__ == "__main__":
    main()
