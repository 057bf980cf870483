"""The same problem in several places (民呼我为): an item's similar items, merge suggestions,
merging duplicates or one work order for a group, weekly hotspots (and as CSV), and for
villagers before they submit, what is already reported nearby.

Staff read as viewers and act as operators; the nearby list is public and shows nothing of
who reported or what they wrote. The method is in docs/reports-method.md.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Annotated, Literal, TypeVar
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response

from village_brain.api.auth import OPERATOR, VIEWER
from village_brain.api.context import ApiContext, context
from village_brain.api.queries import EndParam, time_param
from village_brain.api.routes_alerts import Operator, account
from village_brain.api.work_analysis_schemas import (
    GroupsOut,
    HotCellOut,
    HotspotsOut,
    MatchOut,
    MergeIn,
    MergeOut,
    NearbyOut,
    SimilarOut,
    WorkOrderIn,
    WorkOrderOut,
    sighting_out,
    work_ref,
)
from village_brain.core.config import DashboardSettings, SimilaritySettings
from village_brain.core.timefmt import MAX_TIME_MS, now_ms
from village_brain.reports import hotspots as hot
from village_brain.reports import merging
from village_brain.reports.geo import haversine_m
from village_brain.reports.intake import ReportDesk
from village_brain.reports.limits import WindowLimit
from village_brain.reports.queue import WorkQueue
from village_brain.reports.records import Position
from village_brain.reports.sighting_reads import SightingReads
from village_brain.reports.sightings import Sighting
from village_brain.reports.similar import Rules, groups, relation, similar
from village_brain.reports.store import NoSuchItem, ReportStore
from village_brain.reports.workflow import Refused

router = APIRouter(prefix="/api/v1", tags=["work analysis"])
public = APIRouter(prefix="/api/v1/public", tags=["public reports"])
Ctx = Annotated[ApiContext, Depends(context)]
HOUR_MS = 3_600_000
MINUTE_MS = 60_000
WEEK_MS = 7 * 24 * HOUR_MS
BOM = "\ufeff"
ItemId = Annotated[int, Path(ge=1, le=2**63 - 1, description="The work item's id.")]
DistanceParam = Annotated[
    float | None, Query(gt=0, le=50_000, description="Metres; unset: the configured distance.")
]
WindowParam = Annotated[
    float | None, Query(gt=0, le=24 * 365, description="Hours; unset: the configured window.")
]
WeeksParam = Annotated[int | None, Query(ge=1, le=104, description="Weeks back from this one.")]
CategoryParam = Annotated[str | None, Query(max_length=40, description="Only this category.")]
T = TypeVar("T")
_CSV_HEADERS = {
    "zh": ["周", "地点", "纬度", "经度", "类别", "件数", "工单与告警"],
    "en": ["week", "place", "lat", "lon", "category", "count", "items"],
}


@router.get("/work/{item_id}/similar", dependencies=[VIEWER], summary="Items like this one")
def similar_items(
    ctx: Ctx, item_id: ItemId, distance_m: DistanceParam = None, window_hours: WindowParam = None
) -> SimilarOut:
    """Open and recent reports and alerts of the same or a related category, near this item
    on the plan and close in time, the most alike first, each with why it matched."""
    store = _store(ctx)
    item = store.item(item_id)
    if item is None:
        raise HTTPException(404, f"no work item {item_id}")
    rules = _rules(_settings(ctx), distance_m, window_hours)
    reads = _reads(ctx, store)
    me = reads.of_item(item)
    around = reads.between(me.at_ms - rules.window_ms, me.at_ms + rules.window_ms)
    found = similar(me, around, rules, _settings(ctx).limit)
    return SimilarOut(
        item=sighting_out(me),
        distance_m=rules.distance_m,
        window_hours=rules.window_ms / HOUR_MS,
        matches=[
            MatchOut(
                sighting=sighting_out(m.sighting),
                distance_m=m.distance_m,
                minutes=m.minutes,
                category_match=m.category,
                score=m.score,
            )
            for m in found
        ],
    )


@router.get("/similar/groups", dependencies=[VIEWER], summary="Merge suggestions")
def similar_groups(
    ctx: Ctx,
    days: Annotated[float, Query(gt=0, le=366, description="How far back to look.")] = 14,
    distance_m: DistanceParam = None,
    window_hours: WindowParam = None,
    category: CategoryParam = None,
    end: EndParam = None,
) -> GroupsOut:
    """Groups of open items that are one problem by the same test as /similar, chained."""
    store = _store(ctx)
    rules = _rules(_settings(ctx), distance_m, window_hours)
    until = time_param("end", end, now_ms())
    seen = [
        s
        for s in _reads(ctx, store).between(until - round(days * 24 * HOUR_MS), until)
        if s.open and (category is None or s.category == category)
    ]
    return GroupsOut(
        distance_m=rules.distance_m,
        window_hours=rules.window_ms / HOUR_MS,
        groups=[[sighting_out(s) for s in g] for g in groups(seen, rules)],
    )


@router.post(
    "/work/{item_id}/merge",
    dependencies=[OPERATOR],
    summary="Close the items named as duplicates of this one",
)
def merge_items(ctx: Ctx, who: Operator, item_id: ItemId, body: MergeIn) -> MergeOut:
    queue = _queue(ctx)
    merged = _acting(lambda: merging.merge(queue, item_id, body.item_ids, account(who)))
    return MergeOut(into=work_ref(queue.get(item_id)), merged=[work_ref(i) for i in merged])


@router.post(
    "/similar/work-order",
    status_code=201,
    dependencies=[OPERATOR],
    summary="Open one work order with the items named linked under it",
)
def open_work_order(ctx: Ctx, who: Operator, body: WorkOrderIn) -> WorkOrderOut:
    queue = _queue(ctx)
    order, linked = _acting(
        lambda: merging.open_order(
            queue, body.item_ids, body.title.strip(), body.category, account(who)
        )
    )
    return WorkOrderOut(order=work_ref(order), linked=[work_ref(i) for i in linked])


@router.get("/hotspots", dependencies=[VIEWER], summary="Counts by place × category × week")
def hotspots(
    request: Request,
    ctx: Ctx,
    weeks: WeeksParam = None,
    category: CategoryParam = None,
    end: EndParam = None,
) -> HotspotsOut:
    """Reports and alerts of the last weeks (the one of `end` included), counted by place,
    category and ISO week in the village's time zone, with the items behind each count."""
    return _hotspots(request, ctx, weeks, category, end)


@router.get(
    "/hotspots/csv",
    dependencies=[VIEWER],
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}, "description": "UTF-8 with a BOM."}},
    summary="The hotspot counts as a CSV file",
)
def hotspots_csv(
    request: Request,
    ctx: Ctx,
    weeks: WeeksParam = None,
    category: CategoryParam = None,
    end: EndParam = None,
    lang: Annotated[Literal["zh", "en"], Query(description="Language of the header row.")] = "zh",
) -> Response:
    found = _hotspots(request, ctx, weeks, category, end)
    out = io.StringIO()
    # The BOM makes Excel read UTF-8, so Chinese place names are not mojibake.
    out.write(BOM)
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(_CSV_HEADERS[lang])
    for c in found.cells:
        refs = " ".join(s.ref for s in c.items)
        writer.writerow([c.week, c.label, c.lat, c.lon, c.category, c.count, refs])
    name = f"hotspots-{found.weeks[0]}-{found.weeks[-1]}.csv"
    return Response(
        out.getvalue().encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@public.get("/reports/nearby", summary="Reports already made near a place")
def nearby_reports(
    request: Request,
    ctx: Ctx,
    lat: Annotated[float, Query(ge=-90, le=90)],
    lon: Annotated[float, Query(ge=-180, le=180)],
    category: CategoryParam = None,
) -> list[NearbyOut]:
    """For a villager about to report: the reports near here of the last weeks, nearest
    first, with their status, so one pothole is not reported ten times. Only the number,
    category, status, distance and age: never who made a report or what it says."""
    desk = _desk(ctx)
    settings = desk.settings.similarity
    limit = _public_limit(request, settings)
    address = request.client.host if request.client else "unknown"
    now = now_ms()
    if limit.full(address, now):
        # Counted with the desk's other refusals, so a flood from one address shows.
        desk.refusals["nearby_rate_limited"] += 1
        raise HTTPException(
            429, "too many look-ups from this address; wait a minute", {"Retry-After": "60"}
        )
    limit.mark(address, now)
    here = Position(lat, lon)
    since = now - round(settings.nearby_days * 24 * HOUR_MS)
    found = [
        _nearby(s, haversine_m(here, s.position), now)
        for s in _reads(ctx, desk.store).between(since, now, with_alerts=False)
        if s.source == "report"
        and s.status != "duplicate"
        and s.position is not None
        and (category is None or s.category == category)
        and haversine_m(here, s.position) <= settings.nearby_distance_m
    ]
    found.sort(key=lambda n: (n.distance_m, n.age_hours))
    return found[: settings.nearby_limit]


def _nearby(s: Sighting, distance_m: float, now: int) -> NearbyOut:
    return NearbyOut(
        number=s.number,
        category=s.category,
        status=s.status,
        distance_m=round(distance_m),
        age_hours=max((now - s.at_ms) // HOUR_MS, 0),
    )


def _hotspots(
    request: Request, ctx: Ctx, weeks: int | None, category: str | None, end: str | None
) -> HotspotsOut:
    settings = _settings(ctx)
    zone = ZoneInfo(_zone(request))
    until = time_param("end", end, now_ms())
    if not 2 * WEEK_MS * 104 < until < MAX_TIME_MS - 2 * WEEK_MS:
        # Weeks are counted in local time, which has no year 10000 and no weeks before 1970.
        raise HTTPException(400, "end: weeks are counted from 1974 to 9999 only")
    count = weeks or settings.hotspot_weeks
    start = hot.week_start_ms(until, zone, weeks_back=count - 1)
    seen = [
        s
        for s in _reads(ctx, _store(ctx)).between(start, until)
        if category is None or s.category == category
    ]
    by_ref = {s.ref: s for s in seen}
    cells = hot.hotspots(seen, settings.hotspot_cell_m, zone, settings.hotspot_named_places)
    return HotspotsOut(
        weeks=[hot.week_of(start + n * WEEK_MS + HOUR_MS * 12, zone) for n in range(count)],
        cell_m=settings.hotspot_cell_m,
        named_places=settings.hotspot_named_places,
        cells=[
            HotCellOut(
                place=c.place.key,
                label=c.place.label,
                lat=c.place.center.lat if c.place.center else None,
                lon=c.place.center.lon if c.place.center else None,
                category=c.category,
                week=c.week,
                count=c.count,
                items=[sighting_out(by_ref[r]) for r in c.refs],
            )
            for c in cells
        ],
    )


def _rules(settings: SimilaritySettings, distance_m: float | None, hours: float | None) -> Rules:
    return Rules(
        distance_m=distance_m or settings.distance_m,
        window_ms=round((hours or settings.window_hours) * HOUR_MS),
        related=relation(settings.related),
    )


def _store(ctx: ApiContext) -> ReportStore:
    return _desk(ctx).store


def _queue(ctx: ApiContext) -> WorkQueue:
    if ctx.work is None:
        raise HTTPException(503, "the work queue is not running on this server")
    return ctx.work.queue


def _settings(ctx: ApiContext) -> SimilaritySettings:
    return _desk(ctx).settings.similarity


def _desk(ctx: ApiContext) -> ReportDesk:
    if ctx.reports is None:
        raise HTTPException(503, "reports are not taken on this server")
    return ctx.reports


def _reads(ctx: ApiContext, store: ReportStore) -> SightingReads:
    return SightingReads(store, ctx.registry, ctx.alerts.store if ctx.alerts else None)


def _acting(change: Callable[[], T]) -> T:
    try:
        return change()
    except NoSuchItem as exc:
        raise HTTPException(404, str(exc)) from None
    except Refused as exc:
        raise HTTPException(409, str(exc)) from None


def _public_limit(request: Request, settings: SimilaritySettings) -> WindowLimit:
    # One per app, made on first use: the counts are per running server.
    limit = getattr(request.app.state, "nearby_limit", None)
    if limit is None:
        limit = WindowLimit(settings.nearby_per_minute, MINUTE_MS)
        request.app.state.nearby_limit = limit
    return limit


def _zone(request: Request) -> str:
    settings: DashboardSettings | None = getattr(request.app.state, "dashboard_settings", None)
    return settings.time_zone if settings else "Asia/Shanghai"
