"""End to end in Chromium, on a running service: a villager reports a dark street from the
phone page (with a photo and the phone's position); it appears in the duty staff's open queue
without a reload, linked to the street lamp beside it; staff assign and answer it there; the
villager's status page shows the answer; and the work, left open past its due time, is
escalated once to a real robot receiver."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator

import pytest
from alerts.receivers import Receiver, receiving
from dashboards.chromium import launched_browser
from dashboards.live_server import serve_http
from dashboards.manage_site import PASSWORD, log_in
from dashboards.offline import keep_offline
from integration.harness import make_service
from PIL import Image
from playwright.sync_api import Browser, Page, expect

from village_brain.alerts.records import Webhook
from village_brain.auth.roles import Role
from village_brain.core.devices import Device
from village_brain.core.timefmt import now_ms
from village_brain.reports.records import NewReport
from village_brain.service import Service

from support.waiting import wait_until

pytestmark = pytest.mark.integration
expect.set_options(timeout=15_000)
PHONE = {"width": 390, "height": 844}
HERE = {"latitude": 30.2705, "longitude": 120.151}
# About 40 m east of where the villager stands.
LAMP = Device(
    id="lamp-7",
    village="xiashan",
    kind="street_lamp",
    name="桥头路灯",
    sensors=("lamp_state",),
    lat=30.2705,
    lon=120.15142,
)
# Lighting work is due 4 s after the report, so the test sees it escalate.
LIGHTING = {
    "code": "lighting",
    "name_zh": "路灯照明",
    "name_en": "Street lighting",
    "due_hours": 4 / 3600,
    "department": "村建",
}
DIRECTORY = {"people": [{"id": "li", "name": "李电工", "department": "村建", "account": "duty-li"}]}


def jpeg(size: tuple[int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (20, 20, 40)).save(out, "JPEG")
    return out.getvalue()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    yield from launched_browser()


@pytest.fixture
def robot() -> Iterator[Receiver]:
    with receiving(lambda _n: (200, {"errcode": 0, "errmsg": "ok"})) as receiver:
        yield receiver


@pytest.fixture
def service(mosquitto, tmp_path, robot) -> Iterator[Service]:
    started = make_service(
        mosquitto.url,
        tmp_path / "data",
        f"work-{time.monotonic_ns()}",
        anyone_as=None,
        alerts={"allow_private_targets": True, "notify": {"group_wait": "0s"}},
        reports={
            "categories": [LIGHTING],
            "directory": DIRECTORY,
            "queue": {"check_every": 0.2},
        },
    )
    started.register_devices([LAMP])
    started.accounts.add("duty-li", Role.OPERATOR, PASSWORD, 0)
    assert started.alerts is not None
    started.alerts.add_webhook(Webhook("duty-robot", robot.url, "dingtalk", "", 0, name="值班群"))
    started.start()
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture
def site(service: Service) -> Iterator[str]:
    with serve_http(service) as server:
        yield server.url


def staff_page(browser: Browser, site: str) -> Page:
    page = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN").new_page()
    log_in(page, site, "duty-li", then="/work")
    return page


def phone_page(browser: Browser, site: str) -> tuple[Page, list[str]]:
    context = browser.new_context(
        viewport=PHONE, locale="zh-CN", geolocation=HERE, permissions=["geolocation"]
    )
    return context.new_page(), keep_offline(context, site)


def overdue_notices(robot: Receiver) -> list[str]:
    texts = [b.get("markdown", {}).get("title", "") for b in robot.bodies()]
    return [t for t in texts if t.startswith("【工单超时】")]


def test_a_phone_report_is_worked_live_in_the_queue_answered_and_escalated_when_overdue(
    browser: Browser, site: str, service: Service, robot: Receiver
) -> None:
    staff = staff_page(browser, site)
    staff_errors: list[str] = []
    staff.on("pageerror", lambda error: staff_errors.append(str(error)))
    expect(staff.locator("#live-state[data-state=open]")).to_be_attached()
    expect(staff.locator("#wq-list")).to_contain_text("没有符合条件的工单")

    villager, foreign = phone_page(browser, site)
    villager.goto(f"{site}/report")
    expect(villager.locator("#report-form[data-ready]")).to_be_attached()
    villager.get_by_label("路灯照明").check()
    villager.locator("#rp-description").fill("桥头的路灯不亮，晚上很黑")
    villager.locator("#rp-photos").set_input_files(
        [{"name": "dark.jpg", "mimeType": "image/jpeg", "buffer": jpeg((640, 480))}]
    )
    villager.locator("#rp-locate").click()
    expect(villager.locator("#rp-position")).to_contain_text("30.27050")
    villager.locator("#rp-submit").click()
    expect(villager.locator("#rp-number")).not_to_be_empty()
    status_link = villager.locator("#rp-link").get_attribute("href")

    # Live: the open queue page shows it without a reload, linked to the lamp beside it.
    row = staff.locator("#wq-list li[data-item]", has_text="桥头的路灯不亮")
    expect(row).to_be_visible()
    row.locator("button.open-item").click()
    expect(staff.locator("#wq-detail-body")).to_contain_text("lamp-7")
    expect(staff.locator("#wq-detail-body .photos img")).to_have_count(1)

    staff.locator("#wa-person").select_option("li")
    staff.locator("#wa-assign button[type=submit]").click()
    expect(staff.locator("#wq-detail-body .meta .state")).to_have_text("已派单")
    staff.locator("#wa-reply textarea").fill("李电工今晚去换灯泡")
    staff.locator("#wa-reply button[type=submit]").click()
    expect(staff.locator("#wq-timeline")).to_contain_text("李电工今晚去换灯泡")
    expect(staff.locator("#wq-timeline li[data-kind=assigned]")).to_contain_text("duty-li")

    assert status_link is not None
    villager.goto(status_link)
    expect(villager.locator("#st-replies li")).to_contain_text("李电工今晚去换灯泡")
    assert villager.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    # Still open past its due time: the duty robot hears it once, and the timeline says so.
    wait_until(lambda: overdue_notices(robot), what="the overdue work's escalation", timeout=30)
    expect(staff.locator("#wq-timeline li[data-kind=escalated]")).to_have_count(1)
    time.sleep(1)  # a few more looks of the queue's clock: nothing is sent again
    assert len(overdue_notices(robot)) == 1
    titles = [b.get("markdown", {}).get("title", "") for b in robot.bodies()]
    assert any(t.startswith("【新工单】") for t in titles)
    assert foreign == [] and staff_errors == []


def test_the_duplicate_form_merges_the_chosen_item_into_the_one_it_names(
    browser: Browser, site: str, service: Service
) -> None:
    assert service.work is not None
    store = service.work.queue.store
    new = NewReport(category="lighting", description="桥头路灯不亮")
    (_, first, _), (_, second, _) = store.submit(new, now_ms()), store.submit(new, now_ms())
    staff = staff_page(browser, site)
    staff.locator(f"#wq-list li[data-item='{second.id}'] button.open-item").click()
    staff.locator("#wa-duplicate input").fill(str(first.id))
    staff.locator("#wa-duplicate button[type=submit]").click()
    expect(staff.locator("#wq-detail-body .meta .state")).to_have_text("重复")
    merged = store.item(second.id)
    assert merged is not None and (merged.status, merged.parent_id) == ("duplicate", first.id)
