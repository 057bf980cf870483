"""Acting on a group of similar items: merge them as duplicates of one, or open one work
order that the others are linked under ("also at 18 exits"). Each change is written with its
timeline entry, on both sides, so either item's timeline tells what happened."""

from __future__ import annotations

from collections.abc import Sequence

from village_brain.reports.geo import haversine_m
from village_brain.reports.records import CLOSED, Position, WorkItem
from village_brain.reports.store import NoSuchItem, ReportStore

MAX_GROUP = 200


class Refused(Exception):
    """The change cannot be made as asked; the message says why."""


def merge(
    store: ReportStore, into_id: int, ids: Sequence[int], by: str, at_ms: int
) -> list[WorkItem]:
    """Close each of `ids` as a duplicate of `into_id`; the villagers are told where it went."""
    into = _get(store, into_id)
    if into.status in CLOSED:
        raise Refused(f"item {into_id} is {into.status}: merge into an open item")
    items = _others(store, into_id, ids)
    merged = []
    said = f"与工单 #{into.id} 是同一问题，合并处理。(Merged into #{into.id}.)"
    for item in items:
        if item.status in CLOSED:
            raise Refused(f"item {item.id} is already {item.status}")
    for item in items:
        changed = store.update_item(
            item.id, at_ms, status="duplicate", status_reason=said, parent_id=into.id
        )
        store.add_entry(item.id, "merged", f"#{into.id}", by, at_ms)
        store.add_entry(item.id, "status", "duplicate", by, at_ms, public=True)
        store.add_entry(item.id, "reply", said, by, at_ms, public=True)
        store.add_entry(into.id, "merged", f"#{item.id}", by, at_ms)
        merged.append(changed)
    return merged


def open_order(
    store: ReportStore, ids: Sequence[int], title: str, category: str, by: str, at_ms: int
) -> tuple[WorkItem, list[WorkItem]]:
    """One new work order, at the middle of the items, with each of `ids` linked under it."""
    items = _others(store, None, ids)
    if len(items) < 2:
        raise Refused("a work order for several items needs two items or more")
    order = store.insert_item(
        source="report" if any(i.source == "report" for i in items) else "alert",
        title=title,
        category=category,
        at_ms=at_ms,
        position=_middle([i.position for i in items if i.position is not None]),
        by=by,
    )
    listed = ", ".join(f"#{i.id}" for i in items)
    store.add_entry(order.id, "linked", listed, by, at_ms)
    linked = []
    for item in items:
        linked.append(store.update_item(item.id, at_ms, parent_id=order.id))
        store.add_entry(item.id, "linked", f"#{order.id}", by, at_ms)
    return order, linked


def _others(store: ReportStore, skip: int | None, ids: Sequence[int]) -> list[WorkItem]:
    wanted = list(dict.fromkeys(i for i in ids if i != skip))
    if not wanted:
        raise Refused("name the other items in item_ids")
    if len(wanted) > MAX_GROUP:
        raise Refused(f"at most {MAX_GROUP} items at once")
    return [_get(store, i) for i in wanted]


def _get(store: ReportStore, item_id: int) -> WorkItem:
    item = store.item(item_id)
    if item is None:
        raise NoSuchItem(f"no work item {item_id}")
    return item


def _middle(positions: list[Position]) -> Position | None:
    """The item nearest the others' mean position: a real place, not a point between."""
    if not positions:
        return None
    mean = Position(
        sum(p.lat for p in positions) / len(positions),
        sum(p.lon for p in positions) / len(positions),
    )
    return min(positions, key=lambda p: haversine_m(p, mean))
