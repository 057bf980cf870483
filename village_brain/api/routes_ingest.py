"""Ingest health: counters and the dead-letter log of rejected input."""

from __future__ import annotations

from typing import Annotated

import msgspec
from fastapi import APIRouter, Depends

from village_brain.api.auth import VIEWER
from village_brain.api.context import ApiContext, context
from village_brain.api.queries import DeviceFilter, Limit, ReasonFilter
from village_brain.api.schemas import RejectionOut, SensorTypeOut, SourceOut, StatsOut
from village_brain.core.timefmt import format_ms

router = APIRouter(prefix="/api/v1", tags=["ingest"], dependencies=[VIEWER])
Ctx = Annotated[ApiContext, Depends(context)]


@router.get("/ingest/stats", response_model=StatsOut, summary="Received, stored and rejected")
def stats(ctx: Ctx) -> StatsOut:
    snap = ctx.stats()
    return StatsOut(
        started=format_ms(snap.started_ms),
        messages_received=snap.messages_received,
        readings_stored=snap.readings_stored,
        readings_duplicate=snap.readings_duplicate,
        rejected_total=snap.rejected_total,
        rejected_by_reason=snap.rejected_by_reason,
        rejected_repeats=snap.rejected_repeats,
        readings_per_second=snap.readings_per_second,
        pending_messages=snap.pending_messages,
        broker_connected=snap.broker_connected,
        last_commit=format_ms(snap.last_commit_ms) if snap.last_commit_ms else None,
        throttled_devices=snap.throttled_devices,
        stalled=snap.stalled,
        writer_restarts=snap.writer_restarts,
        alert_batches_waiting=snap.alert_batches_waiting,
        by_source={
            name: SourceOut(**msgspec.structs.asdict(counts))
            for name, counts in snap.by_source.items()
        },
    )


@router.get(
    "/ingest/rejections",
    response_model=list[RejectionOut],
    summary="Rejected input, newest first, with the reason",
)
def rejections(
    ctx: Ctx,
    limit: Limit = 100,
    reason: ReasonFilter = None,
    device: DeviceFilter = None,
) -> list[RejectionOut]:
    return [
        RejectionOut(
            time=format_ms(r.at_ms),
            reason=r.reason,
            detail=r.detail,
            topic=r.topic,
            village=r.village,
            device=r.device,
            sensor=r.sensor,
            excerpt=r.excerpt,
        )
        for r in ctx.registry.rejections(limit, reason, device)
    ]


@router.get(
    "/sensor-types",
    response_model=list[SensorTypeOut],
    summary="The sensor catalog",
    tags=["catalog"],
)
def sensor_types(ctx: Ctx) -> list[SensorTypeOut]:
    return [
        SensorTypeOut(
            id=t.id,
            quantity=t.quantity,
            unit=t.unit,
            symbol=t.symbol,
            kind=t.kind,
            min=t.min,
            max=t.max,
            resolution=t.resolution,
            interval=t.interval,
            accepted_units=[t.unit, *t.aliases, *t.units],
        )
        for t in ctx.catalog.types.values()
    ]
