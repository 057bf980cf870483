"""Acting on a group of similar items through the work queue: merge them as duplicates of
one, or open one work order that the others are linked under ("also at 18 exits"). The
queue writes each change with its timeline entries and announces it to the live page."""

from __future__ import annotations

from collections.abc import Sequence

from village_brain.reports.geo import haversine_m
from village_brain.reports.queue import WorkQueue
from village_brain.reports.records import NewItem, Position, WorkItem
from village_brain.reports.workflow import Refused, check_move, check_open

MAX_GROUP = 200


def merge(queue: WorkQueue, into_id: int, ids: Sequence[int], by: str) -> list[WorkItem]:
    """Close each of `ids` as a duplicate of `into_id`; their villagers are told where it went."""
    others = _others(queue, into_id, ids)
    # All or none: each is checked before the first is merged.
    check_open(queue.get(into_id), f"merge work into item {into_id}")
    for item in others:
        check_move(item, "duplicate", f"#{into_id}")
    return [queue.merge(item.id, into_id, by) for item in others]


def open_order(
    queue: WorkQueue, ids: Sequence[int], title: str, category: str, by: str
) -> tuple[WorkItem, list[WorkItem]]:
    """One new work order, at the item nearest the middle of them, each of `ids` under it."""
    items = _others(queue, None, ids)
    if len(items) < 2:
        raise Refused("a work order for several items needs two items or more")
    if queue.categories and category not in queue.categories:
        raise Refused(f"no category {category!r}; the categories are {sorted(queue.categories)}")
    new = NewItem(
        source="report" if any(i.source == "report" for i in items) else "alert",
        title=title,
        category=category,
        position=_middle([i.position for i in items if i.position is not None]),
        department=queue.departments_of.get(category, ""),
    )
    order = queue.store.insert_item(new, queue.clock(), by)
    queue.announce("opened", order)
    return order, [queue.link(item.id, order.id, by) for item in items]


def _others(queue: WorkQueue, skip: int | None, ids: Sequence[int]) -> list[WorkItem]:
    wanted = list(dict.fromkeys(i for i in ids if i != skip))
    if not wanted:
        raise Refused("name the other items in item_ids")
    if len(wanted) > MAX_GROUP:
        raise Refused(f"at most {MAX_GROUP} items at once")
    return [queue.get(i) for i in wanted]


def _middle(positions: list[Position]) -> Position | None:
    """The position nearest the others' mean: a real place, not a point between them."""
    if not positions:
        return None
    mean = Position(
        sum(p.lat for p in positions) / len(positions),
        sum(p.lon for p in positions) / len(positions),
    )
    return min(positions, key=lambda p: haversine_m(p, mean))
