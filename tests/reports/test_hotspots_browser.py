"""The hotspot page in Debian's Chromium, offline, at a phone's width, over the seeded
village: the four stations on the plan and in the table, the items behind a count, their
similar items, and one work order opened for a station's exits."""

from __future__ import annotations

import time
from collections.abc import Iterator
from zoneinfo import ZoneInfo

import pytest
from dashboards.chromium import launched_browser
from dashboards.manage_site import PHONE, offline_page
from playwright.sync_api import Browser, expect
from seeded_api import Seeded, seeded_context
from seeded_reports import CELL_M, HOUR_MS, T0, station_centre

from village_brain.api.app import create_app
from village_brain.reports.hotspots import grid_cell, week_start_ms
from village_brain.serving import HttpServer

from support.waiting import wait_until

pytestmark = pytest.mark.integration
expect.set_options(timeout=10_000)
ZONE = ZoneInfo("Asia/Shanghai")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    yield from launched_browser()


@pytest.fixture
def served(tmp_path) -> Iterator[tuple[str, Seeded]]:
    # The seed's Monday becomes last week's, so all of it is in the weeks shown by default.
    monday = week_start_ms(int(time.time() * 1000), ZONE, weeks_back=1) + 10 * HOUR_MS
    with seeded_context(tmp_path, shift_ms=monday - T0) as seeded:
        server = HttpServer(create_app(seeded.ctx), "127.0.0.1", 0)
        server.start()
        try:
            yield f"http://127.0.0.1:{server.port}", seeded
        finally:
            server.stop()


def test_the_stations_show_on_the_plan_and_a_work_order_links_one_stations_exits(
    browser: Browser, served: tuple[str, Seeded]
) -> None:
    url, seeded = served
    station_a = grid_cell(station_centre("A"), CELL_M).key
    with offline_page(browser, url, PHONE) as watched:
        page = watched.page
        page.goto(f"{url}/hotspots")
        expect(page.locator("#hs-status")).to_contain_text("处地点")
        expect(page.locator(f'.hotspot-mark[data-place="{station_a}"] text')).to_have_text("5")
        assert page.locator("#hs-table tbody tr").count() >= 8
        csv = page.locator("#hs-csv").get_attribute("href") or ""
        assert "weeks=8" in csv and "lang=zh" in csv

        page.locator(f'.hotspot-mark[data-place="{station_a}"]').click()
        expect(page.locator("#hs-items li")).to_have_count(5)
        page.locator("#hs-items li .similar-button").first.click()
        similar = page.locator("#hs-similar .similar-list li")
        expect(similar).to_have_count(4)
        expect(similar.first.locator(".why")).to_contain_text("同类")

        for box in page.locator("#hs-similar input[type=checkbox]").all():
            box.check()
        page.locator("#sim-order").click()
        expect(page.locator("#hs-similar .status-line")).to_contain_text("关联 5 件")
        exits = [seeded.ids[f"exit-A{n}"] for n in range(1, 6)]
        parents = {seeded.store.item(i).parent_id for i in exits}
        assert len(parents) == 1 and None not in parents

        page.locator("#lang-switch").click()
        expect(page.locator("h1")).to_have_text("Hotspots")
        assert "lang=en" in (page.locator("#hs-csv").get_attribute("href") or "")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"the page is {width} px wide on a 390 px phone"
        assert watched.foreign == [] and watched.errors == []


def test_the_work_queues_item_page_shows_its_similar_items_and_merges_them(
    browser: Browser, served: tuple[str, Seeded]
) -> None:
    url, seeded = served
    into = seeded.ids["pothole-0"]
    with offline_page(browser, url, PHONE) as watched:
        page = watched.page
        page.goto(f"{url}/work?item={into}")
        # The live feed's first news redraws the item; tick after it.
        expect(page.locator("#live-state")).to_have_attribute("data-state", "open")
        similar = page.locator("#wq-similar .similar-list li")
        expect(similar).to_have_count(4)
        for box in page.locator("#wq-similar input[type=checkbox]").all():
            box.check()
        page.locator("#sim-merge").click()
        duplicates = [seeded.ids[f"pothole-{n}"] for n in range(1, 5)]

        def merged() -> bool:
            return all(seeded.store.item(i).status == "duplicate" for i in duplicates)

        wait_until(merged, what="the four reports to be merged")
        expect(page.locator("#wq-similar .similar-list li")).to_have_count(0)
        assert watched.errors == [] and watched.foreign == []
