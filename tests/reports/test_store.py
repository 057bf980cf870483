"""The reports store: what each primitive keeps, and what a villager's token opens."""

from __future__ import annotations

import sqlite3

import pytest

from village_brain.reports.records import NewItem, NewPhoto, NewReport, Position
from village_brain.reports.store import NoSuchItem, ReportStore

# 2026-12-02 10:00 in Asia/Shanghai.
AT = 1_796_176_800_000
HOUR = 3_600_000


@pytest.fixture
def store(tmp_path):
    opened = ReportStore(tmp_path / "reports.sqlite3", due_hours={"road": 72, "safety": 4})
    yield opened
    opened.close()


def pothole(**fields) -> NewReport:
    base = {
        "category": "road",
        "description": "村口桥头有个大坑\n晚上看不见",
        "position": Position(lat=30.1, lon=120.2),
        "name": "余云梅",
        "phone": "13800000000",
    }
    return NewReport(**{**base, **fields})


def test_submit_keeps_the_report_and_opens_a_new_work_item_due_by_its_category(store):
    report, item, _ = store.submit(pothole(), AT)
    assert store.report(report.id) == report
    assert report.name == "余云梅" and report.position == Position(lat=30.1, lon=120.2)
    assert (item.source, item.status, item.report_id) == ("report", "new", report.id)
    assert item.title == "村口桥头有个大坑"
    assert item.due_ms == AT + 72 * HOUR
    assert store.item_for_report(report.id) == item


def test_a_category_without_due_hours_has_no_due_time(store):
    _, item, _ = store.submit(pothole(category="other"), AT)
    assert item.due_ms is None


def test_report_numbers_count_per_village_day(store):
    first, _, _ = store.submit(pothole(), AT)
    second, _, _ = store.submit(pothole(), AT + HOUR)
    next_day, _, _ = store.submit(pothole(), AT + 24 * HOUR)
    assert (first.number, second.number) == ("20261202-0001", "20261202-0002")
    assert next_day.number == "20261203-0001"
    assert store.report_by_number("20261202-0002") == second


def test_the_private_token_opens_only_its_own_report(store):
    first, _, token = store.submit(pothole(), AT)
    store.submit(pothole(), AT)
    assert store.report_for_token(token) == first
    assert store.report_for_token(token + "x") is None
    assert store.report_for_token("") is None


def test_the_database_keeps_no_token_only_its_hash(store, tmp_path):
    _, _, token = store.submit(pothole(), AT)
    dump = "\n".join(sqlite3.connect(tmp_path / "reports.sqlite3").iterdump())
    assert token not in dump


def test_photos_are_kept_in_order_with_their_bytes(store):
    photos = (NewPhoto(b"one", "image/jpeg", 4, 3), NewPhoto(b"two", "image/webp", 2, 1))
    report, _, _ = store.submit(pothole(photos=photos), AT)
    kept = [store.photo(photo_id) for photo_id in report.photos]
    assert [(p.data, p.mime, p.width) for p in kept] == [
        (b"one", "image/jpeg", 4),
        (b"two", "image/webp", 2),
    ]
    later = store.put_photo(report.id, NewPhoto(b"three", "image/jpeg", 1, 1), AT)
    assert store.report(report.id).photos == (*report.photos, later)
    assert store.photo("nothing") is None


def test_attributes_come_back_as_given(store):
    report, _, _ = store.submit(pothole(attributes={"depth": "deep"}, via="open311"), AT)
    assert store.report(report.id).attributes == {"depth": "deep"}
    assert store.report(report.id).via == "open311"


def test_items_filter_by_status_and_change_time(store):
    _, first, _ = store.submit(pothole(), AT)
    _, second, _ = store.submit(pothole(), AT)
    store.update_item(second.id, AT + HOUR, status="assigned", department="road_team")
    assert [i.id for i in store.items(status="new")] == [first.id]
    assert [i.id for i in store.items(status=["new", "assigned"])] == [first.id, second.id]
    assert [i.id for i in store.items(since_ms=AT + 1)] == [second.id]


def test_update_item_changes_the_fields_and_the_change_time(store):
    _, item, _ = store.submit(pothole(), AT)
    moved = Position(lat=30.2, lon=120.3)
    updated = store.update_item(item.id, AT + HOUR, assignee="老王", position=moved)
    assert (updated.assignee, updated.position, updated.updated_ms) == ("老王", moved, AT + HOUR)
    assert store.item(item.id) == updated


def test_update_item_refuses_unknown_fields_and_items(store):
    _, item, _ = store.submit(pothole(), AT)
    with pytest.raises(ValueError, match="created_ms"):
        store.update_item(item.id, AT, created_ms=0)
    with pytest.raises(NoSuchItem):
        store.update_item(9999, AT, status="assigned")


def test_insert_item_opens_an_item_for_an_alert(store):
    new = NewItem(source="alert", title="水位计无数据", category="water", alert_id=7, device="g1")
    item = store.insert_item(new, AT)
    assert (item.source, item.status, item.alert_id, item.report_id) == ("alert", "new", 7, None)
    assert store.items(alert_id=7) == [item]


def test_entries_keep_order_and_the_public_filter(store):
    _, item, _ = store.submit(pothole(), AT)
    store.add_entry(item.id, "note", "先看看", "duty", AT + 1, public=False)
    reply = store.add_entry(item.id, "reply", "明天修", "duty", AT + 2, public=True)
    assert [e.kind for e in store.entries(item.id)] == ["status", "note", "reply"]
    assert [e.text for e in store.entries(item.id, public_only=True)] == ["new", "明天修"]
    assert reply.public and store.item(item.id).updated_ms == AT + 2


def test_add_entry_refuses_an_unknown_item(store):
    with pytest.raises(NoSuchItem):
        store.add_entry(9999, "note", "x", "duty", AT)


def test_count_reports_counts_a_phone_within_a_window(store):
    store.submit(pothole(), AT)
    store.submit(pothole(phone="13900000000"), AT + HOUR)
    assert store.count_reports(AT) == 2
    assert store.count_reports(AT, phone="13800000000") == 1
    assert store.count_reports(AT + 1, phone="13800000000") == 0


def test_everything_survives_reopening(tmp_path):
    path = tmp_path / "reports.sqlite3"
    first = ReportStore(path)
    report, item, token = first.submit(pothole(), AT)
    first.close()
    again = ReportStore(path)
    assert again.report_for_token(token) == report and again.item(item.id) == item
    again.close()


def test_a_change_and_its_timeline_lines_are_written_together_or_not_at_all(store):
    _, item, _ = store.submit(pothole(), AT)
    said = [("assigned", "road_team/", "wang", False), ("reply", "已派人", "wang", True)]
    store.update_item(item.id, AT + HOUR, said, status="assigned", department="road_team")
    kinds = [(e.kind, e.text, e.public) for e in store.entries(item.id)][-2:]
    assert kinds == [("assigned", "road_team/", False), ("reply", "已派人", True)]
    broken = [("note", None, "wang", False)]  # a line the database refuses
    with pytest.raises(sqlite3.IntegrityError):
        store.update_item(item.id, AT + 2 * HOUR, broken, status="resolved")  # type: ignore[arg-type]
    assert store.item(item.id).status == "assigned" and len(store.entries(item.id)) == 3


def test_insert_item_refuses_a_report_item_without_its_report(store):
    with pytest.raises(ValueError, match="submit"):
        store.insert_item(NewItem(source="report", title="x", category="road", report_id=1), AT)
