"""The queue's clock: new reports linked to a device standing by and told to the channels,
overdue work escalated once per due time, across restarts too. Real stores on temporary
files; the outbox rows are what the dispatcher would send."""

from __future__ import annotations

import json

import pytest

from village_brain.alerts.policy import Policy, Route
from village_brain.alerts.records import Webhook
from village_brain.alerts.store import AlertStore
from village_brain.core.bus import Bus
from village_brain.core.devices import Device
from village_brain.reports.device_link import device_for_report, metres_between
from village_brain.reports.directory import Directory
from village_brain.reports.notices import WorkNotices
from village_brain.reports.queue import WorkQueue
from village_brain.reports.records import NewReport, Position
from village_brain.reports.store import ReportStore
from village_brain.reports.watch import WorkWatch

AT = 1_796_176_800_000
HOUR = 3_600_000
HERE = Position(lat=30.1000, lon=120.2000)
# About 44 m and 550 m east of HERE.
NEAR_LAMP = Device(id="lamp-near", village="x", kind="street_lamp", lat=30.1, lon=120.20046)
FAR_LAMP = Device(id="lamp-far", village="x", kind="street_lamp", lat=30.1, lon=120.2057)
GAUGE = Device(id="gauge", village="x", kind="river_gauge", lat=30.1, lon=120.2001)
RELATED = {"lighting": ["street_lamp"], "water": ["river_gauge"]}


def test_a_report_links_to_the_nearest_device_of_a_related_kind_within_reach():
    match = device_for_report(HERE, "lighting", [FAR_LAMP, GAUGE, NEAR_LAMP], RELATED, 150)
    assert match is not None and match.device.id == "lamp-near"
    assert 40 < match.metres < 50


def test_an_alerting_device_within_reach_is_preferred_to_a_nearer_quiet_one():
    other = Device(id="lamp-alerting", village="x", kind="street_lamp", lat=30.1, lon=120.2009)
    match = device_for_report(HERE, "lighting", [NEAR_LAMP, other], RELATED, 150, {"lamp-alerting"})
    assert match is not None and (match.device.id, match.alerting) == ("lamp-alerting", True)


def test_no_device_is_linked_beyond_reach_or_of_an_unrelated_kind():
    assert device_for_report(HERE, "lighting", [FAR_LAMP, GAUGE], RELATED, 150) is None
    assert device_for_report(HERE, "waste", [NEAR_LAMP], RELATED, 150) is None


def test_distances_are_great_circle_metres():
    assert metres_between(Position(lat=0, lon=0), Position(lat=1, lon=0)) == pytest.approx(
        111_195, rel=1e-3
    )


class World:
    def __init__(self, tmp_path, webhooks: list[Webhook], policy: Policy) -> None:
        self.tmp_path = tmp_path
        self.webhooks = webhooks
        self.policy = policy
        self.now = AT
        self.open()

    def open(self) -> None:
        self.reports = ReportStore(self.tmp_path / "reports.sqlite3", due_hours={"lighting": 4})
        self.alerts = AlertStore(self.tmp_path / "alerts.sqlite3")
        self.bus = Bus()
        self.heard: list[dict] = []
        self.bus.subscribe(lambda kind, p: kind == "work" and self.heard.append(p))
        self.queue = WorkQueue(self.reports, Directory([], []), self.bus, clock=lambda: self.now)
        notices = WorkNotices(self.alerts, self.policy, lambda: self.webhooks, "http://vb.test")
        self.watch = WorkWatch(
            self.queue,
            notices,
            lambda: [NEAR_LAMP, FAR_LAMP],
            lambda: set(),
            RELATED,
            150,
            clock=lambda: self.now,
        )

    def restart(self) -> None:
        self.reports.close()
        self.alerts.close()
        self.open()

    def submit(self, category: str = "lighting") -> int:
        new = NewReport(category=category, description="路灯不亮，很黑", position=HERE)
        return self.reports.submit(new, self.now)[1].id

    def outbox(self) -> list[tuple[str, str, dict]]:
        rows = self.alerts.deliveries(limit=1000)
        found = [(d.event_type, d.webhook_id, json.loads(d.body)) for d in rows]
        return sorted(found, key=lambda row: row[:2])


def hook(webhook_id: str, **fields) -> Webhook:
    return Webhook(webhook_id, f"http://127.0.0.1:9/{webhook_id}", "dingtalk", "", 0, **fields)


@pytest.fixture
def world(tmp_path):
    made = World(tmp_path, [hook("duty")], Policy(group_wait_ms=0))
    yield made
    made.reports.close()
    made.alerts.close()


def test_a_new_report_is_linked_to_the_lamp_beside_it_announced_and_told_once(world):
    item_id = world.submit()
    world.watch.look(world.now)
    world.watch.look(world.now + 1000)
    item = world.queue.get(item_id)
    assert item.device == "lamp-near"
    assert [e.kind for e in world.reports.entries(item_id)][-1] == "linked"
    assert [p["change"] for p in world.heard] == ["linked", "new"]
    ((event, webhook, body),) = world.outbox()
    assert (event, webhook) == ("work.new", "duty")
    assert body["data"]["title"].startswith(f"【新工单】#{item_id}")
    assert f"http://vb.test/work?item={item_id}" in body["data"]["lines"][-1]


def test_overdue_work_escalates_once_per_due_time_and_not_again_after_a_restart(world):
    item_id = world.submit()
    world.watch.look(world.now)
    world.now += 4 * HOUR
    world.watch.look(world.now)
    world.watch.look(world.now + 1000)
    world.restart()
    world.watch.look(world.now + 2000)
    overdue = [b for e, _, b in world.outbox() if e == "work.overdue"]
    assert len(overdue) == 1
    assert overdue[0]["data"]["title"].startswith(f"【工单超时】#{item_id}")
    escalations = [e for e in world.reports.entries(item_id) if e.kind == "escalated"]
    assert len(escalations) == 1


def test_a_new_due_time_may_escalate_again(world):
    item_id = world.submit()
    world.now += 5 * HOUR
    world.watch.look(world.now)
    world.reports.update_item(item_id, world.now, due_ms=world.now + HOUR)
    world.now += 2 * HOUR
    world.watch.look(world.now)
    assert [e for e, _, _ in world.outbox()].count("work.overdue") == 2


def test_closed_work_does_not_escalate(world):
    item_id = world.submit()
    world.queue.close(item_id, "duty", "rejected", "重复上报")
    world.now += 5 * HOUR
    world.watch.look(world.now)
    assert "work.overdue" not in [e for e, _, _ in world.outbox()]


def test_overdue_work_goes_to_the_routes_escalation_channels_too(tmp_path):
    routes = (Route(("duty",), rules=("work",), escalate_to=("chief",)),)
    world = World(tmp_path, [hook("duty"), hook("chief")], Policy(group_wait_ms=0, routes=routes))
    try:
        world.submit()
        world.watch.look(world.now)
        world.now += 5 * HOUR
        world.watch.look(world.now)
        told = [(e, w) for e, w, _ in world.outbox()]
        assert told == [("work.new", "duty"), ("work.overdue", "chief"), ("work.overdue", "duty")]
    finally:
        world.reports.close()
        world.alerts.close()


def test_a_channel_that_does_not_take_alert_firings_hears_no_work(tmp_path):
    quiet = hook("quiet", events=("alert.resolved",))
    world = World(tmp_path, [quiet], Policy(group_wait_ms=0))
    try:
        world.submit()
        world.watch.look(world.now)
        assert world.outbox() == []
    finally:
        world.reports.close()
        world.alerts.close()
