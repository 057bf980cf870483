"""Every management page fits a 390 px phone: nothing wider than the screen."""

from __future__ import annotations

import pytest
from manage_site import PHONE, ManagedVillage, log_in, offline_page
from playwright.sync_api import Browser, expect

from village_brain.auth.roles import Role

pytestmark = pytest.mark.integration
PAGES = [
    ("/manage/devices", "#md-devices tbody tr"),
    ("/manage/users", "#users tbody tr"),
    ("/manage/rules", "#rule-list li"),
    ("/manage/channels", "#channel-list li"),
    ("/alerts/history", "#ah-list li"),
    ("/account", "#acc-who"),
]


def test_every_management_page_fits_a_phone(browser: Browser, managed: ManagedVillage) -> None:
    with offline_page(browser, managed.url, viewport=PHONE) as phone:
        page = phone.page
        log_in(page, managed.url, managed.account(Role.ADMIN))
        for path, filled in PAGES:
            page.goto(managed.url + path)
            expect(page.locator(filled).first).not_to_be_empty()
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= PHONE["width"], f"{path} is {width}px wide"
        assert phone.foreign == [] and phone.errors == []
