"""The phone page in Chromium at 390 px, offline: a report with a photo and the phone's
position, then its private status page showing a reply added by the staff."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from dashboards.chromium import launched_browser
from dashboards.offline import keep_offline
from playwright.sync_api import Browser, expect
from report_kit import jpeg

pytestmark = pytest.mark.integration
expect.set_options(timeout=10_000)
PHONE = {"width": 390, "height": 844}
HERE = {"latitude": 30.2705, "longitude": 120.151}


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    yield from launched_browser()


@pytest.fixture
def site(root: str) -> str:
    return root.removesuffix("/open311/v2")


@pytest.fixture
def phone(browser: Browser, site: str):
    context = browser.new_context(
        viewport=PHONE,
        locale="zh-CN",
        geolocation=HERE,
        permissions=["geolocation"],
        has_touch=True,
    )
    foreign = keep_offline(context, site)
    page = context.new_page()
    page.set_default_timeout(10_000)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page, foreign, errors
    context.close()


def test_a_report_from_the_phone_page_shows_its_reply_on_the_status_page(
    phone, site: str, desk
) -> None:
    page, foreign, errors = phone
    page.goto(f"{site}/report")
    expect(page.locator("#report-form[data-ready]")).to_be_attached()
    page.get_by_label("道路桥梁").check()
    page.locator("#rp-q-passable").select_option("hard")
    page.locator("#rp-description").fill("村口桥头有个大坑，晚上看不见")
    page.locator("#rp-photos").set_input_files(
        [{"name": "pothole.jpg", "mimeType": "image/jpeg", "buffer": jpeg((800, 600))}]
    )
    expect(page.locator("#rp-thumbs img")).to_have_count(1)
    page.locator("#rp-locate").click()
    expect(page.locator("#rp-position")).to_contain_text("30.27050")
    page.locator(".contact summary").click()
    page.locator("#rp-phone").fill("13800000000")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.locator("#rp-submit").click()
    expect(page.locator("#rp-number")).to_have_text("20261202-0001")

    report = desk.store.report_by_number("20261202-0001")
    assert report.position.lat == pytest.approx(HERE["latitude"])
    assert len(report.photos) == 1 and report.attributes == {"passable": "hard"}
    assert report.phone == "13800000000"
    item = desk.store.item_for_report(report.id)
    desk.store.add_entry(item.id, "reply", "明天上午去填平", "duty", report.created_ms + 1, True)
    desk.store.update_item(item.id, report.created_ms + 2, status="in_progress")

    link = page.locator("#rp-link").get_attribute("href")
    assert link.startswith(f"{site}/report/status#")
    page.goto(link)
    expect(page.locator("#st-status")).to_have_text("正在处理")
    expect(page.locator("#st-replies li")).to_contain_text("明天上午去填平")
    expect(page.locator("#st-photos img")).to_have_count(1)
    expect(page.locator("#st-body")).not_to_contain_text("13800000000")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.locator("#lang-switch").click()
    expect(page.locator("#st-status")).to_have_text("Being handled")
    assert foreign == [] and errors == []


def test_a_place_picked_on_the_plan_is_the_reports_position(phone, site: str, desk) -> None:
    page, foreign, errors = phone
    page.goto(f"{site}/report")
    expect(page.locator("#report-form[data-ready]")).to_be_attached()
    page.get_by_label("路灯照明").check()
    page.locator("#rp-description").fill("路灯不亮")
    expect(page.locator("#rp-plan .land")).to_be_attached()
    page.locator("#rp-plan").click(position={"x": 195, "y": 100})
    expect(page.locator("#rp-plan .placed-mark")).to_be_attached()
    page.locator("#rp-submit").click()
    expect(page.locator("#rp-number")).to_have_text("20261202-0001")
    position = desk.store.report_by_number("20261202-0001").position
    # Somewhere on the plan drawn around the two devices near 30.27, 120.15.
    assert 30.26 < position.lat < 30.28 and 120.14 < position.lon < 120.16
    assert foreign == [] and errors == []
