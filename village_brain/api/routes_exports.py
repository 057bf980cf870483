"""A sensor's history as CSV, for a spreadsheet.

UTF-8 with a byte-order mark: without it Excel reads the file in the machine's legacy code
page and shows Chinese place names and headers as mojibake.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response

from village_brain.api.auth import VIEWER
from village_brain.api.context import ApiContext, context
from village_brain.api.queries import (
    DevicePath,
    EndParam,
    SensorPath,
    StartParam,
    StepParam,
    step_param,
    time_range,
)
from village_brain.core.config import DashboardSettings
from village_brain.core.timefmt import format_ms, now_ms

router = APIRouter(prefix="/api/v1/devices", tags=["devices"], dependencies=[VIEWER])
Ctx = Annotated[ApiContext, Depends(context)]
BOM = "\ufeff"
Language = Annotated[Literal["zh", "en"], Query(description="Language of the header row.")]
_HEADERS = {
    "zh": ["时间（UTC）", "当地时间（{zone}）", "设备", "名称", "位置", "传感器", "单位",
           "最低", "最高", "平均", "读数个数", "最后值"],
    "en": ["time (UTC)", "local time ({zone})", "device", "name", "place", "sensor", "unit",
           "min", "max", "mean", "readings", "last"],
}  # fmt: skip


@router.get(
    "/{device}/series/{sensor}/csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}, "description": "UTF-8 with a BOM."}},
    summary="A sensor's history, bucketed as in /series, as a CSV file",
)
def series_csv(
    request: Request,
    ctx: Ctx,
    device: DevicePath,
    sensor: SensorPath,
    start: StartParam = None,
    end: EndParam = None,
    step: StepParam = None,
    lang: Language = "zh",
) -> Response:
    row = ctx.registry.device(device)
    if row is None:
        raise HTTPException(404, f"no device {device!r} is registered")
    sensor_type = ctx.catalog.get(sensor)
    if sensor_type is None:
        raise HTTPException(404, f"sensor type {sensor!r} is not in the catalog")
    start_ms, end_ms = time_range(start, end, now_ms())
    step_ms = step_param(step, start_ms, end_ms)
    zone_name = _zone(request)
    zone = ZoneInfo(zone_name)
    out = io.StringIO()
    out.write(BOM)
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([h.format(zone=zone_name) for h in _HEADERS[lang]])
    d = row.device
    for b in ctx.series.series(device, sensor, start_ms, end_ms, step_ms):
        local = datetime.fromtimestamp(b.start_ms / 1000, UTC).astimezone(zone)
        writer.writerow(
            [format_ms(b.start_ms), local.strftime("%Y-%m-%d %H:%M:%S"), d.id, d.name, d.place,
             sensor, sensor_type.unit, b.min, b.max, b.mean, b.count, b.last]
        )  # fmt: skip
    name = f"{device}-{sensor}-{format_ms(start_ms)[:10]}.csv"
    return Response(
        out.getvalue().encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _zone(request: Request) -> str:
    settings: DashboardSettings | None = getattr(request.app.state, "dashboard_settings", None)
    return settings.time_zone if settings else "Asia/Shanghai"
