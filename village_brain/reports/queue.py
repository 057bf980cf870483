"""What the duty staff do to work in the queue: triage, assign, claim (认领), start, close
with a reason, reopen, notes, public replies, merge duplicates, link related work, and open
a work order from a sensor alert.

Who did it is always the caller's account, handed in by the API from the session or token;
nothing here takes a typed name. Each change is written with its timeline entry and then
announced on the bus as a `work` event, for the live queue page.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Mapping
from typing import Any

import msgspec

from village_brain.alerts.records import Alert
from village_brain.core.bus import Bus
from village_brain.core.devices import Device
from village_brain.core.timefmt import format_ms, now_ms
from village_brain.reports.directory import Directory
from village_brain.reports.records import Entry, NewItem, Position, Priority, WorkItem
from village_brain.reports.store import NoSuchItem, ReportStore
from village_brain.reports.workflow import (
    MAX_REASON,
    PRIORITIES,
    Refused,
    check_move,
    check_open,
    due_ms,
)

MAX_TEXT = 4000
PRIORITY_OF_SEVERITY: Mapping[str, Priority] = {
    "critical": "urgent",
    "major": "high",
    "minor": "normal",
    "warning": "normal",
    "info": "low",
}


class WorkQueue:
    def __init__(
        self,
        store: ReportStore,
        directory: Directory,
        bus: Bus,
        categories: Collection[str] = (),
        alert_categories: Mapping[str, str] | None = None,
        departments_of: Mapping[str, str] | None = None,
        clock: Callable[[], int] = now_ms,
    ) -> None:
        self.store = store
        self.directory = directory
        self.bus = bus
        # Empty: any category is taken (the reports settings name them).
        self.categories = frozenset(categories)
        self.alert_categories = dict(alert_categories or {})
        # The department a category goes to first, when the settings say.
        self.departments_of = dict(departments_of or {})
        self.clock = clock
        # One change at a time, so two people claiming at once cannot both win.
        self._lock = threading.Lock()

    # --- reading ---------------------------------------------------------------------------

    def get(self, item_id: int) -> WorkItem:
        item = self.store.item(item_id)
        if item is None:
            raise NoSuchItem(f"no work item {item_id}")
        return item

    # --- triage and routing ----------------------------------------------------------------

    def triage(
        self, item_id: int, by: str, category: str | None = None, priority: str | None = None
    ) -> WorkItem:
        with self._lock:
            item = self.get(item_id)
            check_open(item, "triage it")
            changes: dict[str, Any] = {}
            if category is not None and category != item.category:
                self._check_category(category)
                changes["category"] = category
                # A new category brings its own due time, counted from when the work came in.
                changes["due_ms"] = due_ms(item.created_ms, category, self.store.due_hours)
            if priority is not None and priority != item.priority:
                if priority not in PRIORITIES:
                    raise Refused(f"priority is one of {', '.join(PRIORITIES)}, not {priority!r}")
                changes["priority"] = priority
            if not changes:
                raise Refused("give a category or a priority different from the item's")
            said = ", ".join(f"{k}={changes[k]}" for k in ("category", "priority") if k in changes)
            return self._change(item, by, changes, ("triaged", said, False))

    def assign(self, item_id: int, by: str, department: str = "", person: str = "") -> WorkItem:
        """To a department, or a person of the directory (and so their department)."""
        with self._lock:
            item = self.get(item_id)
            check_open(item, "assign it")
            if not department and not person:
                raise Refused("name a department or a person to assign the work to")
            if person:
                found = self.directory.person(person)
                if found is None:
                    raise Refused(self.directory.unknown_person(person))
                department = found.department
            if self.directory.department(department) is None:
                raise Refused(self.directory.unknown_department(department))
            check_move(item, "assigned")
            changes = {"department": department, "assignee": person, "status": "assigned"}
            said = f"{department}/{person}" if person else department
            return self._change(item, by, changes, ("assigned", said, False))

    def claim(self, item_id: int, account: str) -> WorkItem:
        """ "I'll take it" (认领), as the caller's own account."""
        with self._lock:
            item = self.get(item_id)
            check_open(item, "claim it")
            person = self.directory.person_of_account(account)
            changes: dict[str, Any] = {"claimed_by": account}
            if person is not None:
                changes |= {"assignee": person.id, "department": person.department}
            if item.status == "new":
                changes["status"] = "assigned"
            return self._change(item, account, changes, ("claimed", account, False))

    # --- status ----------------------------------------------------------------------------

    def start(self, item_id: int, by: str) -> WorkItem:
        with self._lock:
            item = self.get(item_id)
            check_move(item, "in_progress")
            return self._change(
                item, by, {"status": "in_progress"}, ("status", "in_progress", True)
            )

    def close(self, item_id: int, by: str, status: str, reason: str) -> WorkItem:
        """Resolved, rejected or duplicate, with a reason the villager reads as a reply."""
        if status not in ("resolved", "rejected", "duplicate"):
            raise Refused(f"close as resolved, rejected or duplicate, not {status!r}")
        reason = reason.strip()
        with self._lock:
            item = self.get(item_id)
            check_move(item, status, reason)
            changes = {"status": status, "status_reason": reason}
            return self._change(
                item, by, changes, ("status", status, True), ("reply", reason, True)
            )

    def reopen(self, item_id: int, by: str, reason: str) -> WorkItem:
        """A closed item back to new (the lamp is dark again), with the reason."""
        reason = reason.strip()
        with self._lock:
            item = self.get(item_id)
            check_move(item, "new", reason)
            changes = {"status": "new", "status_reason": reason, "parent_id": None}
            return self._change(item, by, changes, ("status", "new", True), ("note", reason, False))

    # --- words -----------------------------------------------------------------------------

    def note(self, item_id: int, by: str, text: str) -> Entry:
        """For staff only."""
        return self._words(item_id, by, text, "note", public=False)

    def reply(self, item_id: int, by: str, text: str) -> Entry:
        """What the villager reads on their status page."""
        return self._words(item_id, by, text, "reply", public=True)

    def _words(self, item_id: int, by: str, text: str, kind: str, public: bool) -> Entry:
        text = text.strip()
        if not text:
            raise Refused(f"a {kind} needs some text")
        if len(text) > MAX_TEXT:
            raise Refused(f"a {kind} is at most {MAX_TEXT} characters; this one is {len(text)}")
        with self._lock:
            item = self.get(item_id)
            entry = self.store.add_entry(item.id, kind, text, by, self.clock(), public)
            self.announce(kind, self.get(item_id))
            return entry

    # --- several items ---------------------------------------------------------------------

    def merge(self, item_id: int, into_id: int, by: str) -> WorkItem:
        """`item_id` is a duplicate of `into_id` (of the item that one was merged into, if so):
        closed as duplicate, its villager told where the work goes on."""
        with self._lock:
            item, into = self.get(item_id), self._root(self.get(into_id))
            if into.id == item.id:
                raise Refused(f"item {item_id} cannot be a duplicate of itself")
            check_open(into, f"merge work into item {into.id}")
            check_move(item, "duplicate", f"#{into.id}")
            said = f"与工单 #{into.id} 是同一问题，合并处理。(Merged into #{into.id}.)"
            changes = {"status": "duplicate", "status_reason": said, "parent_id": into.id}
            merged = self._change(
                item,
                by,
                changes,
                ("merged", f"#{into.id}", False),
                ("status", "duplicate", True),
                ("reply", said, True),
            )
            self.store.add_entry(into.id, "merged", f"#{item.id}", by, self.clock(), False)
            self.announce("merged", self.get(into.id))
            return merged

    def link(self, item_id: int, parent_id: int, by: str) -> WorkItem:
        """Related work under one parent (the same problem at other places), each staying open."""
        with self._lock:
            item, parent = self.get(item_id), self.get(parent_id)
            if self._under(parent, item.id):
                raise Refused(f"item {parent_id} is already under item {item_id}")
            linked = self._change(
                item, by, {"parent_id": parent.id}, ("linked", f"#{parent.id}", False)
            )
            self.store.add_entry(parent.id, "linked", f"#{item.id}", by, self.clock(), False)
            self.announce("linked", self.get(parent.id))
            return linked

    def link_device(self, item_id: int, device: Device, why: str, by: str = "system") -> WorkItem:
        """The device the work is about (a report beside a lamp), with the reason."""
        with self._lock:
            item = self.get(item_id)
            text = f"{device.id}: {why}" if why else device.id
            return self._change(item, by, {"device": device.id}, ("linked", text, False))

    def from_alert(self, alert: Alert, device: Device | None, by: str) -> tuple[WorkItem, bool]:
        """A work order for an alert that needs a visit (a dead gauge); the one already open
        for it, if any. True when it was made now."""
        with self._lock:
            for item in self.store.items(alert_id=alert.id):
                if item.status not in ("resolved", "rejected", "duplicate"):
                    return item, False
            kind = device.kind if device else ""
            category = self.alert_categories.get(kind, "other")
            where = (device.name or device.place) if device else ""
            title = (
                f"{alert.rule_name}：{where or alert.device}" if alert.device else alert.rule_name
            )
            position = None
            if device is not None and device.lat is not None and device.lon is not None:
                position = Position(lat=device.lat, lon=device.lon)
            new = NewItem(
                source="alert",
                title=title[:80],
                category=category,
                priority=PRIORITY_OF_SEVERITY.get(alert.severity, "normal"),
                alert_id=alert.id,
                device=alert.device,
                position=position,
                department=self.departments_of.get(category, ""),
            )
            item = self.store.insert_item(new, self.clock(), by)
            self.store.add_entry(item.id, "linked", f"alert #{alert.id}", by, self.clock(), False)
            self.announce("new", self.get(item.id))
            return self.get(item.id), True

    def escalated(self, item_id: int, at_ms: int) -> WorkItem:
        """Note on the timeline that overdue work was escalated to the channels."""
        with self._lock:
            item = self.get(item_id)
            due = format_ms(item.due_ms) if item.due_ms is not None else ""
            self.store.add_entry(item.id, "escalated", due, "system", at_ms, False)
            item = self.get(item_id)
            self.announce("escalated", item)
            return item

    # --- helpers ---------------------------------------------------------------------------

    def _change(
        self, item: WorkItem, by: str, changes: dict[str, Any], *entries: tuple[str, str, bool]
    ) -> WorkItem:
        lines = [(kind, text, by, public) for kind, text, public in entries if text]
        changed = self.store.update_item(item.id, self.clock(), lines, **changes)
        self.announce(entries[0][0] if entries else "changed", changed)
        return changed

    def announce(self, change: str, item: WorkItem) -> None:
        self.bus.publish("work", {"change": change, "item": msgspec.to_builtins(item)})

    def _check_category(self, category: str) -> None:
        if self.categories and category not in self.categories:
            known = ", ".join(sorted(self.categories))
            raise Refused(f"no category {category!r}; the categories are {known}")
        if not category or len(category) > 40:
            raise Refused("a category is a short code such as lighting")

    def _root(self, item: WorkItem) -> WorkItem:
        """The item a chain of merges ends at."""
        seen = {item.id}
        while item.status == "duplicate" and item.parent_id is not None:
            parent = self.store.item(item.parent_id)
            if parent is None or parent.id in seen:
                break
            seen.add(parent.id)
            item = parent
        return item

    def _under(self, item: WorkItem, ancestor_id: int) -> bool:
        """`item` is `ancestor_id` or sits below it through parents."""
        seen: set[int] = set()
        current: WorkItem | None = item
        while current is not None and current.id not in seen:
            if current.id == ancestor_id:
                return True
            seen.add(current.id)
            current = self.store.item(current.parent_id) if current.parent_id else None
        return False


__all__ = ["MAX_REASON", "NoSuchItem", "Refused", "WorkQueue"]
