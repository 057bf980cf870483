"""The duty staff's work queue: villagers' reports and sensor alerts in one list, and what
staff do to them. Viewers read it (without villagers' names and phone numbers); operators
work it. Who acts is the caller's account, from the session or token: never a typed name.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Literal, TypeVar

import msgspec
from fastapi import APIRouter, Depends, HTTPException, Path, Query, Response
from pydantic import BaseModel, Field

from village_brain.api.auth import VIEWER, caller, require
from village_brain.api.context import ApiContext, context
from village_brain.api.routes_alerts import account, alert_out
from village_brain.api.routes_reports_public import PHOTO_PREFIX
from village_brain.api.schemas import AlertOut
from village_brain.auth.gate import Principal
from village_brain.auth.roles import Role
from village_brain.core.timefmt import format_ms
from village_brain.reports.records import CLOSED, Entry, Report, WorkItem
from village_brain.reports.store import NoSuchItem
from village_brain.reports.work_stage import WorkStage
from village_brain.reports.workflow import MAX_REASON, PRIORITIES, Refused, overdue

router = APIRouter(prefix="/api/v1/work", tags=["work queue"], dependencies=[VIEWER])
Ctx = Annotated[ApiContext, Depends(context)]
Operator = Annotated[Principal, Depends(require(Role.OPERATOR))]
MAX_ROW_ID = 2**63 - 1
ItemId = Annotated[int, Path(ge=1, le=MAX_ROW_ID, description="The work item's id.")]
StatusFilter = Literal[
    "open", "closed", "all", "new", "assigned", "in_progress", "resolved", "rejected", "duplicate"
]
T = TypeVar("T")


class PositionOut(BaseModel):
    lat: float
    lon: float


class WorkItemOut(BaseModel):
    """One item of the queue."""

    id: int
    source: Literal["report", "alert"]
    title: str
    category: str
    status: str = Field(description="new, assigned, in_progress, resolved, rejected or duplicate.")
    priority: str
    created: str
    created_ms: int
    updated_ms: int
    report_id: int | None
    report_number: str | None = Field(description="What the villager quotes, for a report.")
    alert_id: int | None
    device: str = Field(description="The device it is about, or the one a report was linked to.")
    position: PositionOut | None
    department: str
    assignee: str = Field(description="A person of the directory.")
    claimed_by: str = Field(description="The account that said I'll take it (认领).")
    due_ms: int | None
    due: str | None
    overdue: bool
    status_reason: str
    parent_id: int | None = Field(description="Merged into, or linked under, this item.")


class EntryOut(BaseModel):
    id: int
    kind: str = Field(
        description="note (staff only), reply (the villager reads it), status, assigned, "
        "claimed, triaged, merged, linked, escalated."
    )
    text: str
    by: str
    at_ms: int
    time: str
    public: bool


class ReportOut(BaseModel):
    """The report behind an item; name and phone only for operators and admins."""

    number: str
    category: str
    description: str
    created_ms: int
    place: str
    photos: list[str] = Field(description="Photo urls.")
    via: str
    name: str | None
    phone: str | None
    attributes: dict[str, str]


class QueueOut(BaseModel):
    items: list[WorkItemOut]
    alerts: list[AlertOut] = Field(
        description="Open sensor alerts that no open work order is for yet, beside the items."
    )
    now_ms: int


class DetailOut(BaseModel):
    item: WorkItemOut
    report: ReportOut | None
    alert: AlertOut | None
    entries: list[EntryOut]
    children: list[WorkItemOut] = Field(description="Items merged into or linked under it.")


class DepartmentOut(BaseModel):
    id: str
    zh: str
    en: str


class PersonOut(BaseModel):
    id: str
    name: str
    department: str
    account: str


class CategoryOut(BaseModel):
    code: str
    name_zh: str
    name_en: str
    due_hours: float | None
    department: str


class DirectoryOut(BaseModel):
    departments: list[DepartmentOut]
    people: list[PersonOut]
    categories: list[CategoryOut]
    priorities: list[str]


class TriageIn(BaseModel):
    category: str | None = Field(None, min_length=1, max_length=40)
    priority: Literal["low", "normal", "high", "urgent"] | None = None


class AssignIn(BaseModel):
    department: str = Field("", max_length=40, description="A department of the directory.")
    person: str = Field("", max_length=40, description="A person of the directory.")


class CloseIn(BaseModel):
    status: Literal["resolved", "rejected", "duplicate"]
    reason: str = Field(min_length=1, max_length=MAX_REASON, description="The villager reads it.")


class ReasonIn(BaseModel):
    reason: str = Field(min_length=1, max_length=MAX_REASON)


class TextIn(BaseModel):
    text: str = Field(min_length=1, max_length=4000)


class LinkIn(BaseModel):
    parent: int = Field(ge=1, le=MAX_ROW_ID, description="The item it goes under.")


def stage(ctx: ApiContext) -> WorkStage:
    if ctx.work is None:
        raise HTTPException(404, "the work queue is not enabled on this server")
    return ctx.work


@router.get("", summary="The queue: work items, and open alerts that have no work order")
def queue(
    ctx: Ctx,
    status: StatusFilter | None = "open",
    category: Annotated[str | None, Query(max_length=40)] = None,
    department: Annotated[str | None, Query(max_length=40)] = None,
    source: Literal["report", "alert"] | None = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 1000,
) -> QueueOut:
    work = stage(ctx)
    now = work.queue.clock()
    wanted = _statuses(status)
    found = [
        i
        for i in work.queue.store.items(status=wanted, source=source, limit=100_000)
        if (category is None or i.category == category)
        and (department is None or i.department == department)
    ]
    found = sorted(found, key=lambda i: i.updated_ms, reverse=True)[:limit]
    return QueueOut(items=_items_out(work, found, now), alerts=_loose_alerts(ctx, work), now_ms=now)


@router.get("/directory", summary="Departments, people, categories and priorities to route by")
def directory(ctx: Ctx) -> DirectoryOut:
    work = stage(ctx)
    return DirectoryOut(
        departments=[
            DepartmentOut.model_validate(d, from_attributes=True)
            for d in work.directory.departments.values()
        ],
        people=[
            PersonOut.model_validate(p, from_attributes=True)
            for p in work.directory.people.values()
        ],
        categories=[
            CategoryOut(
                code=c.code,
                name_zh=c.name_zh,
                name_en=c.name_en,
                due_hours=c.due_hours,
                department=c.department,
            )
            for c in work.settings.categories
        ],
        priorities=list(PRIORITIES),
    )


@router.post(
    "/from-alert/{alert_id}",
    status_code=201,
    summary="Open a work order for an alert that needs a visit (the open one, if any: 200)",
)
def from_alert(
    ctx: Ctx,
    who: Operator,
    response: Response,
    alert_id: Annotated[int, Path(ge=1, le=MAX_ROW_ID)],
) -> WorkItemOut:
    work = stage(ctx)
    if work.alerts is None:
        raise HTTPException(404, "alerts are not enabled on this server")
    alert = work.alerts.store.alert(alert_id)
    if alert is None:
        raise HTTPException(404, f"no alert {alert_id}")
    row = work.registry.device(alert.device) if alert.device else None
    item, made = work.queue.from_alert(alert, row.device if row else None, account(who))
    if not made:
        response.status_code = 200
    return _items_out(work, [item], work.queue.clock())[0]


@router.get("/{item_id}", summary="One item with its report, alert, timeline and related items")
def detail(
    ctx: Ctx, item_id: ItemId, who: Annotated[Principal | None, Depends(caller)]
) -> DetailOut:
    work = stage(ctx)
    item = _acting(lambda: work.queue.get(item_id))
    now = work.queue.clock()
    staff = who is not None and who.role.covers(Role.OPERATOR)
    report = work.queue.store.report(item.report_id) if item.report_id else None
    alert = None
    if item.alert_id is not None and work.alerts is not None:
        found = work.alerts.store.alert(item.alert_id)
        alert = alert_out(work.alerts, [found])[0] if found else None
    children = [i for i in work.queue.store.items(limit=100_000) if i.parent_id == item.id]
    return DetailOut(
        item=_items_out(work, [item], now)[0],
        report=_report_out(report, staff) if report else None,
        alert=alert,
        entries=[_entry_out(e) for e in work.queue.store.entries(item.id)],
        children=_items_out(work, children, now),
    )


@router.post("/{item_id}/triage", summary="Set the category and/or the priority")
def triage(ctx: Ctx, who: Operator, item_id: ItemId, body: TriageIn) -> WorkItemOut:
    work = stage(ctx)
    return _done(
        work,
        lambda: work.queue.triage(item_id, account(who), body.category, body.priority),
    )


@router.post("/{item_id}/assign", summary="Assign to a department or a person of the directory")
def assign(ctx: Ctx, who: Operator, item_id: ItemId, body: AssignIn) -> WorkItemOut:
    work = stage(ctx)
    return _done(
        work,
        lambda: work.queue.assign(
            item_id, account(who), body.department.strip(), body.person.strip()
        ),
    )


@router.post("/{item_id}/claim", summary="I'll take it (认领), as the caller's account")
def claim(ctx: Ctx, who: Operator, item_id: ItemId) -> WorkItemOut:
    work = stage(ctx)
    return _done(work, lambda: work.queue.claim(item_id, account(who)))


@router.post("/{item_id}/start", summary="Work on it has started (in progress)")
def start(ctx: Ctx, who: Operator, item_id: ItemId) -> WorkItemOut:
    work = stage(ctx)
    return _done(work, lambda: work.queue.start(item_id, account(who)))


@router.post(
    "/{item_id}/close",
    summary="Close as resolved, rejected or duplicate; the villager reads the reason",
)
def close(ctx: Ctx, who: Operator, item_id: ItemId, body: CloseIn) -> WorkItemOut:
    work = stage(ctx)
    return _done(work, lambda: work.queue.close(item_id, account(who), body.status, body.reason))


@router.post("/{item_id}/reopen", summary="Back to new, with the reason")
def reopen(ctx: Ctx, who: Operator, item_id: ItemId, body: ReasonIn) -> WorkItemOut:
    work = stage(ctx)
    return _done(work, lambda: work.queue.reopen(item_id, account(who), body.reason))


@router.post("/{item_id}/notes", status_code=201, summary="An internal note, for staff only")
def note(ctx: Ctx, who: Operator, item_id: ItemId, body: TextIn) -> EntryOut:
    work = stage(ctx)
    return _entry_out(_acting(lambda: work.queue.note(item_id, account(who), body.text)))


@router.post(
    "/{item_id}/replies", status_code=201, summary="A public reply, shown on the villager's page"
)
def reply(ctx: Ctx, who: Operator, item_id: ItemId, body: TextIn) -> EntryOut:
    work = stage(ctx)
    return _entry_out(_acting(lambda: work.queue.reply(item_id, account(who), body.text)))


@router.post("/{item_id}/link", summary="Put it under a parent item; both stay open")
def link(ctx: Ctx, who: Operator, item_id: ItemId, body: LinkIn) -> WorkItemOut:
    work = stage(ctx)
    return _done(work, lambda: work.queue.link(item_id, body.parent, account(who)))


# --- helpers -----------------------------------------------------------------------------


def _statuses(status: str | None) -> list[str] | None:
    if status is None or status == "all":
        return None
    if status == "open":
        return ["new", "assigned", "in_progress"]
    if status == "closed":
        return sorted(CLOSED)
    return [status]


def _acting(change: Callable[[], T]) -> T:
    try:
        return change()
    except NoSuchItem as exc:
        raise HTTPException(404, str(exc)) from None
    except Refused as exc:
        raise HTTPException(409, str(exc)) from None


def _done(work: WorkStage, change: Callable[[], WorkItem]) -> WorkItemOut:
    return _items_out(work, [_acting(change)], work.queue.clock())[0]


def _items_out(work: WorkStage, items: list[WorkItem], now: int) -> list[WorkItemOut]:
    out = []
    for item in items:
        report = work.queue.store.report(item.report_id) if item.report_id else None
        fields = msgspec.to_builtins(item)
        out.append(
            WorkItemOut(
                **fields,
                created=format_ms(item.created_ms),
                report_number=report.number if report else None,
                due=format_ms(item.due_ms) if item.due_ms is not None else None,
                overdue=overdue(item, now),
            )
        )
    return out


def _loose_alerts(ctx: ApiContext, work: WorkStage) -> list[AlertOut]:
    if work.alerts is None:
        return []
    ordered = {
        i.alert_id
        for i in work.queue.store.items(
            status=["new", "assigned", "in_progress"], source="alert", limit=100_000
        )
    }
    open_alerts = [a for a in work.alerts.store.open_alerts() if a.id not in ordered]
    return alert_out(work.alerts, open_alerts)


def _report_out(report: Report, staff: bool) -> ReportOut:
    return ReportOut(
        number=report.number,
        category=report.category,
        description=report.description,
        created_ms=report.created_ms,
        place=report.place,
        photos=[f"{PHOTO_PREFIX}{p}" for p in report.photos],
        via=report.via,
        name=report.name if staff else None,
        phone=report.phone if staff else None,
        attributes=dict(report.attributes),
    )


def _entry_out(entry: Entry) -> EntryOut:
    return EntryOut(
        id=entry.id,
        kind=entry.kind,
        text=entry.text,
        by=entry.by,
        at_ms=entry.at_ms,
        time=format_ms(entry.at_ms),
        public=entry.public,
    )
