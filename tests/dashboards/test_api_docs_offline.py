"""/docs (Swagger UI) and /redoc render the API's operations from files this server ships,
with no request leaving it: village servers often have no internet."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from offline import keep_offline
from playwright.sync_api import Browser, Page, expect
from village_view import Village

pytestmark = pytest.mark.integration


@pytest.fixture
def offline_page(browser: Browser, village: Village) -> Iterator[tuple[Page, list[str]]]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    foreign = keep_offline(context, village.url)
    yield context.new_page(), foreign
    context.close()


def test_swagger_ui_renders_every_operation_offline(offline_page, village: Village) -> None:
    page, foreign = offline_page
    page.goto(village.url + "/docs")
    expect(page.locator(".opblock-summary-path").first).to_be_visible()
    # An operation with two tags is drawn under each: compare the sets.
    shown = page.eval_on_selector_all(
        ".opblock-summary",
        """blocks => blocks.map(b => [
            b.querySelector('.opblock-summary-method').textContent.toLowerCase(),
            b.querySelector('.opblock-summary-path').dataset.path])""",
    )
    documented = {
        (method, path)
        for path, operations in village.app.openapi()["paths"].items()
        for method in operations
    }
    assert {tuple(block) for block in shown} == documented
    assert foreign == []


def test_redoc_renders_the_operations_offline(offline_page, village: Village) -> None:
    page, foreign = offline_page
    page.goto(village.url + "/redoc")
    expect(page.locator("h2", has_text="Who is asking, and with which role")).to_be_visible()
    assert foreign == []
