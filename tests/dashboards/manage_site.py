"""A village served with accounts for the management pages, and pages that must stay offline.

Anonymous visitors may look (as on a village's wall screen), so the pages are tested for
what each role sees. Registration is strict, so unknown devices wait for approval.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from integration.harness import Publisher
from playwright.sync_api import Browser, Dialog, Page, Route

from village_brain.auth.roles import Role
from village_brain.service import Service

PASSWORD = "river-bank-7"
PHONE = {"width": 390, "height": 844}
_names = itertools.count()


@dataclass
class ManagedVillage:
    service: Service
    url: str
    publisher: Publisher

    def account(self, role: Role) -> str:
        name = f"{role}-{next(_names)}"
        self.service.accounts.add(name, role, PASSWORD, 0)
        return name


@dataclass
class OfflinePage:
    """A page whose every request to another host is refused and remembered."""

    page: Page
    foreign: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@contextmanager
def offline_page(
    browser: Browser, server_url: str, viewport: dict[str, int] | None = None
) -> Iterator[OfflinePage]:
    context = browser.new_context(
        viewport=viewport or {"width": 1280, "height": 900}, locale="zh-CN"
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    watched = OfflinePage(page)
    ours = urlsplit(server_url).netloc

    def guard(route: Route) -> None:
        if urlsplit(route.request.url).netloc == ours:
            route.continue_()
        else:
            watched.foreign.append(route.request.url)
            route.abort()

    context.route("**/*", guard)
    page.on("pageerror", lambda error: watched.errors.append(str(error)))
    try:
        yield watched
    finally:
        context.close()


def log_in(page: Page, url: str, name: str, password: str = PASSWORD, then: str = "/") -> None:
    page.goto(f"{url}/login?next={then}")
    page.locator("#login-name").fill(name)
    page.locator("#login-password").fill(password)
    page.locator("#login-form button[type=submit]").click()
    page.wait_for_url(f"{url}{then}")


def accept_dialogs(page: Page, answer: str | None = None) -> Callable[[], None]:
    def on_dialog(dialog: Dialog) -> None:
        if answer is None:
            dialog.accept()
        else:
            dialog.accept(answer)

    page.on("dialog", on_dialog)
    return lambda: page.remove_listener("dialog", on_dialog)
