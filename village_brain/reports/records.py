"""Plain records of the reports side: what a villager reports, the work it becomes, and its
timeline. The villager's status page, Open311 and the staff queue all read these."""

from __future__ import annotations

from typing import Literal

import msgspec

# new → assigned → in_progress → resolved | rejected | duplicate. The three ends need a reason.
WorkStatus = Literal["new", "assigned", "in_progress", "resolved", "rejected", "duplicate"]
CLOSED: frozenset[str] = frozenset({"resolved", "rejected", "duplicate"})
Priority = Literal["low", "normal", "high", "urgent"]
# Where a work item came from: a villager's report, or a sensor alert someone opened it for.
Source = Literal["report", "alert"]
# note: staff only; reply: the villager sees it; the rest record who changed what.
EntryKind = Literal[
    "note", "reply", "status", "assigned", "claimed", "triaged", "merged", "linked", "escalated"
]


class Position(msgspec.Struct, frozen=True):
    lat: float
    lon: float


class Report(msgspec.Struct, frozen=True):
    """One report as a villager made it. `name` and `phone` are for staff eyes only."""

    id: int
    number: str  # what the villager is told and quotes on the phone, e.g. "20261202-0007"
    category: str
    description: str
    created_ms: int
    position: Position | None = None
    place: str = ""  # a place named on the plan, when the villager picked one
    photos: tuple[str, ...] = ()  # photo ids, re-encoded and stripped of metadata
    name: str = ""
    phone: str = ""
    via: str = "page"  # page (the phone page) or open311
    # The category's extra questions answered (Open311 attributes), code → answer.
    attributes: dict[str, str] = msgspec.field(default_factory=dict)


class WorkItem(msgspec.Struct, frozen=True):
    """One entry in the duty staff's queue: a report, or a sensor alert that needs a visit."""

    id: int
    source: Source
    title: str
    category: str
    status: WorkStatus
    priority: Priority
    created_ms: int
    updated_ms: int
    report_id: int | None = None
    alert_id: int | None = None
    device: str = ""  # the device it is about, or the device a report was linked to
    position: Position | None = None
    department: str = ""  # from the directory
    assignee: str = ""  # a person of the directory
    claimed_by: str = ""  # the account that said "I'll take it" (认领)
    due_ms: int | None = None
    status_reason: str = ""
    parent_id: int | None = None  # the item this one was merged into, or is linked under


class NewItem(msgspec.Struct, frozen=True):
    """A work item about to be opened; the store adds its id, status and times."""

    source: Source
    title: str
    category: str
    priority: Priority = "normal"
    report_id: int | None = None
    alert_id: int | None = None
    device: str = ""
    position: Position | None = None
    department: str = ""
    due_ms: int | None = None  # unset: the category's due time from when it is opened
    parent_id: int | None = None


class Entry(msgspec.Struct, frozen=True):
    """One line of a work item's timeline; `public` lines are what the villager reads."""

    id: int
    item_id: int
    kind: EntryKind
    text: str
    by: str  # the account, or "villager", or "system"
    at_ms: int
    public: bool = False


class NewPhoto(msgspec.Struct, frozen=True):
    """A photo already decoded and re-encoded (see photos.py): only these bytes are kept."""

    data: bytes
    mime: str
    width: int
    height: int


class Photo(msgspec.Struct, frozen=True):
    id: str
    report_id: int
    data: bytes
    mime: str
    width: int
    height: int
    created_ms: int


class NewReport(msgspec.Struct, frozen=True):
    """What a villager sends, from the phone page or an Open311 client."""

    category: str
    description: str
    position: Position | None = None
    place: str = ""
    photos: tuple[NewPhoto, ...] = ()
    name: str = ""
    phone: str = ""
    via: str = "page"
    attributes: dict[str, str] = msgspec.field(default_factory=dict)
