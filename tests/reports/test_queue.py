"""The work queue: the status machine, routing by the directory, claims by account, words,
merges and links, and work orders opened from alerts. A real store on a temporary file."""

from __future__ import annotations

import pytest

from village_brain.alerts.records import Alert
from village_brain.core.bus import Bus
from village_brain.core.config import Department, Person
from village_brain.core.devices import Device
from village_brain.reports.directory import Directory
from village_brain.reports.queue import WorkQueue
from village_brain.reports.records import NewReport, Position
from village_brain.reports.store import NoSuchItem, ReportStore
from village_brain.reports.workflow import Refused

AT = 1_796_176_800_000
HOUR = 3_600_000


class Clock:
    def __init__(self) -> None:
        self.now = AT

    def __call__(self) -> int:
        return self.now


@pytest.fixture
def heard() -> list[tuple[str, dict]]:
    return []


@pytest.fixture
def queue(tmp_path, heard):
    store = ReportStore(tmp_path / "reports.sqlite3", due_hours={"road": 72, "lighting": 24})
    directory = Directory(
        [
            Department(id="roads", zh="道路组", en="Roads"),
            Department(id="power", zh="电力组", en="Power"),
        ],
        [Person(id="wang", name="王师傅", department="power", account="wang-acct")],
    )
    bus = Bus()
    bus.subscribe(lambda kind, payload: heard.append((kind, payload)))
    yield WorkQueue(
        store,
        directory,
        bus,
        categories=("road", "lighting", "water", "other"),
        alert_categories={"street_lamp": "lighting"},
        departments_of={"lighting": "power"},
        clock=Clock(),
    )
    store.close()


def report(queue: WorkQueue, category: str = "road", text: str = "村口有个大坑") -> int:
    _, item, _ = queue.store.submit(
        NewReport(category=category, description=text, position=Position(lat=30.1, lon=120.2)),
        AT,
    )
    return item.id


def kinds(queue: WorkQueue, item_id: int, public_only: bool = False) -> list[tuple[str, str]]:
    return [(e.kind, e.text) for e in queue.store.entries(item_id, public_only)]


def test_assigning_to_a_person_routes_the_work_to_their_department(queue):
    item = queue.assign(report(queue), "duty", person="wang")
    assert (item.status, item.department, item.assignee) == ("assigned", "power", "wang")
    assert ("assigned", "power/wang") in kinds(queue, item.id)


def test_assigning_to_a_department_not_in_the_directory_is_refused_with_the_known_ones(queue):
    with pytest.raises(Refused, match=r"no department 'police'.*roads, power"):
        queue.assign(report(queue), "duty", department="police")


def test_a_claim_is_recorded_as_the_account_and_takes_its_person_from_the_directory(queue):
    item = queue.claim(report(queue), "wang-acct")
    assert (item.claimed_by, item.assignee, item.department) == ("wang-acct", "wang", "power")
    assert item.status == "assigned"
    assert queue.store.entries(item.id)[-1].by == "wang-acct"


def test_work_can_start_only_once_someone_has_it(queue):
    item_id = report(queue)
    with pytest.raises(Refused, match="is new; from there it can go to assigned, duplicate"):
        queue.start(item_id, "duty")
    queue.claim(item_id, "duty")
    assert queue.start(item_id, "duty").status == "in_progress"


def test_resolving_needs_a_reason_which_the_villager_reads_as_a_reply(queue):
    item_id = report(queue)
    queue.claim(item_id, "duty")
    with pytest.raises(Refused, match="needs a reason"):
        queue.close(item_id, "duty", "resolved", "  ")
    item = queue.close(item_id, "duty", "resolved", "已填平")
    assert (item.status, item.status_reason) == ("resolved", "已填平")
    assert kinds(queue, item_id, public_only=True)[-2:] == [
        ("status", "resolved"),
        ("reply", "已填平"),
    ]


def test_closed_work_takes_no_assignment_until_reopened_with_a_reason(queue):
    item_id = report(queue)
    queue.close(item_id, "duty", "rejected", "不在本村")
    with pytest.raises(Refused, match="is rejected; reopen it before you assign it"):
        queue.assign(item_id, "duty", department="roads")
    assert queue.reopen(item_id, "duty", "村民说是本村的").status == "new"
    assert queue.assign(item_id, "duty", department="roads").status == "assigned"


def test_notes_are_for_staff_and_replies_for_the_villager(queue):
    item_id = report(queue)
    queue.note(item_id, "duty", "电话联系了村民")
    queue.reply(item_id, "duty", "已派人查看")
    public = kinds(queue, item_id, public_only=True)
    assert ("reply", "已派人查看") in public
    assert ("note", "电话联系了村民") not in public


def test_an_empty_reply_is_refused(queue):
    with pytest.raises(Refused, match="needs some text"):
        queue.reply(report(queue), "duty", "   ")


def test_triage_to_another_category_brings_that_category_s_due_time(queue):
    item_id = report(queue, "road")
    assert queue.get(item_id).due_ms == AT + 72 * HOUR
    item = queue.triage(item_id, "duty", category="lighting", priority="high")
    assert (item.category, item.priority, item.due_ms) == ("lighting", "high", AT + 24 * HOUR)


def test_triage_to_an_unknown_category_or_priority_is_refused(queue):
    item_id = report(queue)
    with pytest.raises(Refused, match="no category 'potholes'"):
        queue.triage(item_id, "duty", category="potholes")
    with pytest.raises(Refused, match="priority is one of"):
        queue.triage(item_id, "duty", priority="asap")


def test_a_merged_duplicate_closes_and_points_to_the_item_its_chain_ends_at(queue):
    first, second, third = report(queue), report(queue), report(queue)
    queue.merge(second, first, "duty")
    merged = queue.merge(third, second, "duty")
    assert (merged.status, merged.parent_id) == ("duplicate", first)
    assert ("merged", f"#{third}") in kinds(queue, first)
    assert any(k == "reply" and f"#{first}" in t for k, t in kinds(queue, third, True))


def test_an_item_is_not_merged_into_itself(queue):
    item_id = report(queue)
    with pytest.raises(Refused, match="duplicate of itself"):
        queue.merge(item_id, item_id, "duty")


def test_linked_work_stays_open_under_its_parent_and_cannot_loop(queue):
    parent, child = report(queue), report(queue)
    linked = queue.link(child, parent, "duty")
    assert (linked.status, linked.parent_id) == ("new", parent)
    with pytest.raises(Refused, match="already under"):
        queue.link(parent, child, "duty")


def test_an_item_that_does_not_exist_is_said_so(queue):
    with pytest.raises(NoSuchItem):
        queue.claim(999, "duty")


def alert(**fields) -> Alert:
    base = dict(
        id=7,
        rule_id="lamp_dark",
        rule_name="路灯不亮",
        severity="major",
        kind="threshold",
        village="xiashan",
        device="lamp-3",
        subject="lamp_state",
        state="firing",
        message="",
        started_ms=AT,
        updated_ms=AT,
    )
    return Alert(**{**base, **fields})


LAMP = Device(id="lamp-3", village="xiashan", kind="street_lamp", place="桥头", lat=30.1, lon=120.2)


def test_a_work_order_from_an_alert_carries_its_device_category_and_priority(queue):
    item, made = queue.from_alert(alert(), LAMP, "duty")
    assert made
    assert (item.source, item.alert_id, item.device) == ("alert", 7, "lamp-3")
    assert (item.category, item.priority, item.department) == ("lighting", "high", "power")
    assert item.position == Position(lat=30.1, lon=120.2)


def test_a_second_work_order_for_the_same_alert_is_the_one_already_open(queue):
    first, _ = queue.from_alert(alert(), LAMP, "duty")
    again, made = queue.from_alert(alert(), LAMP, "duty")
    assert (again.id, made) == (first.id, False)


def test_every_change_is_announced_as_work_on_the_bus(queue, heard):
    item_id = report(queue)
    queue.claim(item_id, "duty")
    assert heard[-1][0] == "work"
    assert heard[-1][1]["change"] == "claimed" and heard[-1][1]["item"]["id"] == item_id
