"""The newest readings of every device in one request, so the overview needs no fan-out."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response

from village_brain.api.auth import VIEWER
from village_brain.api.context import ApiContext, context
from village_brain.api.fleet_bodies import json_response
from village_brain.api.routes_devices import latest_out
from village_brain.api.schemas import DeviceLatest
from village_brain.core.timefmt import now_ms

router = APIRouter(prefix="/api/v1", tags=["devices"], dependencies=[VIEWER])
Ctx = Annotated[ApiContext, Depends(context)]


@router.get(
    "/latest",
    response_model=list[DeviceLatest],
    summary="Newest value of each sensor of every device",
)
def latest_of_all(ctx: Ctx, village: str | None = None) -> Response:
    devices = ctx.registry.device_ids(village)
    # One grouped query for the whole fleet (or village), never one per device.
    found = ctx.series.latest_by_device(None if village is None else devices)
    now = now_ms()
    units: dict[str, tuple[str, str]] = {}
    return json_response(
        [latest_out(ctx, device, found.get(device, []), now, units) for device in devices]
    )
