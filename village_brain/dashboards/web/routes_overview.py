"""The newest readings of every device in one request, so the overview needs no fan-out."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from village_brain.api.auth import VIEWER
from village_brain.api.context import ApiContext, context
from village_brain.api.routes_devices import latest
from village_brain.api.schemas import DeviceLatest

router = APIRouter(prefix="/api/v1", tags=["devices"], dependencies=[VIEWER])
Ctx = Annotated[ApiContext, Depends(context)]


@router.get(
    "/latest",
    response_model=list[DeviceLatest],
    summary="Newest value of each sensor of every device",
)
def latest_of_all(ctx: Ctx, village: str | None = None) -> list[DeviceLatest]:
    return [
        latest(ctx, row.device.id)
        for row in ctx.registry.devices()
        if village is None or row.device.village == village
    ]
