"""The typed answers of similar items, merge groups and hotspots."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from village_brain.core.timefmt import format_ms
from village_brain.reports.records import WorkItem
from village_brain.reports.sightings import Sighting


class SightingOut(BaseModel):
    ref: str = Field(description='"item:ID" for a work item, "alert:ID" for an alert without one.')
    source: Literal["report", "alert"]
    item_id: int | None
    alert_id: int | None
    number: str = Field(description="The report number, for a villager's report.")
    title: str
    category: str = Field(description="A report category, or an alert's sensor type.")
    status: str = Field(description="The work status, or the alert's state.")
    open: bool
    at: str = Field(description="When it was made, RFC 3339.")
    at_ms: int
    lat: float | None
    lon: float | None
    place: str = Field(description="The place named on the plan, if any.")
    device: str


def sighting_out(s: Sighting) -> SightingOut:
    return SightingOut(
        ref=s.ref,
        source=s.source,
        item_id=s.item_id,
        alert_id=s.alert_id,
        number=s.number,
        title=s.title,
        category=s.category,
        status=s.status,
        open=s.open,
        at=format_ms(s.at_ms),
        at_ms=s.at_ms,
        lat=s.position.lat if s.position else None,
        lon=s.position.lon if s.position else None,
        place=s.place,
        device=s.device,
    )


class MatchOut(BaseModel):
    sighting: SightingOut
    distance_m: float | None = Field(description="Metres apart; null: matched by place name.")
    minutes: float = Field(description="Minutes from this item to the other; negative: earlier.")
    category_match: Literal["same", "related"]
    score: float = Field(description="Lower is more alike: distance share + time share + 0.5 "
                         "for a related category.")  # fmt: skip


class SimilarOut(BaseModel):
    item: SightingOut
    distance_m: float
    window_hours: float
    matches: list[MatchOut]


class GroupsOut(BaseModel):
    distance_m: float
    window_hours: float
    groups: list[list[SightingOut]] = Field(description="Each a merge suggestion, oldest first.")


class HotCellOut(BaseModel):
    place: str = Field(description='"place:NAME", "cell:ROW:COL" or "none".')
    label: str
    lat: float | None = Field(description="The cell's centre, or the named place's first item.")
    lon: float | None
    category: str
    week: str = Field(description="ISO week, such as 2026-W45.")
    count: int
    items: list[SightingOut]


class HotspotsOut(BaseModel):
    weeks: list[str] = Field(description="The weeks counted, oldest first.")
    cell_m: float
    named_places: bool
    cells: list[HotCellOut] = Field(description="Largest count first.")


class WorkRefOut(BaseModel):
    id: int
    title: str
    category: str
    status: str
    parent_id: int | None


def work_ref(item: WorkItem) -> WorkRefOut:
    return WorkRefOut(
        id=item.id,
        title=item.title,
        category=item.category,
        status=item.status,
        parent_id=item.parent_id,
    )


class MergeIn(BaseModel):
    item_ids: list[int] = Field(min_length=1, max_length=200, description="The duplicates.")


class MergeOut(BaseModel):
    into: WorkRefOut
    merged: list[WorkRefOut]


class WorkOrderIn(BaseModel):
    item_ids: list[int] = Field(min_length=2, max_length=200)
    title: str = Field(min_length=1, max_length=200, description="What the order is to fix.")
    category: str = Field(min_length=1, max_length=40)


class WorkOrderOut(BaseModel):
    order: WorkRefOut
    linked: list[WorkRefOut]


class NearbyOut(BaseModel):
    """What a villager may see of another's report: nothing of who made it or what they said."""

    number: str
    category: str
    status: str
    distance_m: int
    age_hours: int
