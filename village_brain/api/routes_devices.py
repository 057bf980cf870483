"""Devices, their latest readings, their history and their events."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Response

from village_brain.api.auth import VIEWER
from village_brain.api.context import ApiContext, context
from village_brain.api.event_data import shown_data
from village_brain.api.fleet_bodies import (
    BucketBody,
    DeviceBody,
    DeviceLatestBody,
    LatestBody,
    LocationBody,
    SeriesBody,
    json_response,
)
from village_brain.api.queries import (
    DevicePath,
    EndParam,
    KindFilter,
    Limit,
    SensorPath,
    StartParam,
    StepParam,
    VillageFilter,
    step_param,
    time_range,
)
from village_brain.api.schemas import (
    DeviceLatest,
    DeviceOut,
    EventOut,
    SeriesOut,
)
from village_brain.core.presence import health, silence_limit_ms
from village_brain.core.timefmt import format_ms, now_ms
from village_brain.store.base import LatestValue
from village_brain.store.registry import DeviceRow

router = APIRouter(prefix="/api/v1/devices", tags=["devices"], dependencies=[VIEWER])
Ctx = Annotated[ApiContext, Depends(context)]


@router.get("", response_model=list[DeviceOut], summary="All devices with location and presence")
def list_devices(ctx: Ctx, village: VillageFilter = None, kind: KindFilter = None) -> Response:
    now = now_ms()
    rows = [
        row
        for row in ctx.registry.devices()
        if (village is None or row.device.village == village)
        and (kind is None or row.device.kind == kind)
    ]
    # Devices that declare no sensors show the ones they report: one query for all of them.
    undeclared = [row.device.id for row in rows if not row.device.sensors]
    # Unfiltered, the whole fleet's answer is one pass over the store, cheaper than looking
    # up ten thousand chosen devices; the devices it adds are never asked for.
    chosen = None if village is None and kind is None else undeclared
    found = ctx.series.latest_by_device(chosen) if undeclared else {}
    # A fleet shares a few sets of sensors: their silence limits are worked out once each.
    silences: dict[tuple[str, ...], int] = {}
    return json_response(
        [_device_out(ctx, row, now, found.get(row.device.id, []), silences) for row in rows]
    )


@router.get("/{device}", response_model=DeviceOut, summary="One device")
def get_device(ctx: Ctx, device: DevicePath) -> Response:
    return json_response(_device_out(ctx, _find(ctx, device), now_ms()))


@router.get("/{device}/latest", response_model=DeviceLatest, summary="Newest value of each sensor")
def latest(ctx: Ctx, device: DevicePath) -> Response:
    _find(ctx, device)
    return json_response(latest_out(ctx, device, ctx.series.latest(device), now_ms()))


def latest_out(
    ctx: ApiContext,
    device: str,
    values: list[LatestValue],
    now: int,
    units: dict[str, tuple[str, str]] | None = None,
) -> DeviceLatestBody:
    """`units` caches the catalog's units by sensor across the devices of one answer."""
    units = {} if units is None else units
    readings = []
    for value in values:
        shown = units.get(value.sensor)
        if shown is None:
            shown = units[value.sensor] = _units(ctx, value.sensor)
        unit, symbol = shown
        readings.append(
            LatestBody(
                value.sensor,
                value.value,
                unit,
                symbol,
                format_ms(value.ts_ms),
                value.ts_ms,
                round((now - value.ts_ms) / 1000, 1),
            )
        )
    return DeviceLatestBody(device=device, readings=readings)


def _units(ctx: ApiContext, sensor_id: str) -> tuple[str, str]:
    sensor = ctx.catalog.get(sensor_id)
    return (sensor.unit, sensor.symbol) if sensor else ("", "")


@router.get(
    "/{device}/series/{sensor}",
    response_model=SeriesOut,
    summary="A sensor's history, bucketed: min, max, mean, count and last per step",
)
def series(
    ctx: Ctx,
    device: DevicePath,
    sensor: SensorPath,
    start: StartParam = None,
    end: EndParam = None,
    step: StepParam = None,
) -> Response:
    _find(ctx, device)
    sensor_type = ctx.catalog.get(sensor)
    if sensor_type is None:
        raise HTTPException(404, f"sensor type {sensor!r} is not in the catalog")
    start_ms, end_ms = time_range(start, end, now_ms())
    step_ms = step_param(step, start_ms, end_ms)
    buckets = ctx.series.series(device, sensor, start_ms, end_ms, step_ms)
    body = SeriesBody(
        device=device,
        sensor=sensor,
        unit=sensor_type.unit,
        start_ms=start_ms,
        end_ms=end_ms,
        step_ms=step_ms,
        buckets=[
            BucketBody(format_ms(b.start_ms), b.start_ms, b.min, b.max, b.mean, b.count, b.last)
            for b in buckets
        ],
    )
    return json_response(body)


@router.get("/{device}/events", response_model=list[EventOut], summary="Recent events")
def events(ctx: Ctx, device: DevicePath, limit: Limit = 100) -> list[EventOut]:
    _find(ctx, device)
    found = []
    for event in ctx.registry.events(device, limit):
        data, data_text = shown_data(event.data_json)
        found.append(
            EventOut(
                time=format_ms(event.ts_ms),
                ts_ms=event.ts_ms,
                type=event.type,
                data=data,
                data_text=data_text,
            )
        )
    return found


def _find(ctx: ApiContext, device: str) -> DeviceRow:
    row = ctx.registry.device(device)
    if row is None:
        raise HTTPException(404, f"no device {device!r} is registered")
    return row


def _device_out(
    ctx: ApiContext,
    row: DeviceRow,
    now: int,
    latest: list[LatestValue] | None = None,
    silences: dict[tuple[str, ...], int] | None = None,
) -> DeviceBody:
    device, presence = row.device, row.presence
    if latest is None and not device.sensors:
        latest = ctx.series.latest(device.id)
    sensors = list(device.sensors) or [v.sensor for v in latest or []]
    silences = {} if silences is None else silences
    key = tuple(sensors)
    silence = silences.get(key)
    if silence is None:
        silence = silences[key] = silence_limit_ms(
            ctx.catalog, sensors, ctx.offline_after_intervals
        )
    state = health(presence, now, silence)
    return DeviceBody(
        id=device.id,
        village=device.village,
        kind=device.kind,
        name=device.name,
        location=LocationBody(lat=device.lat, lon=device.lon, place=device.place),
        sensors=sensors,
        online=state in ("ok", "refused"),
        health=state,
        status=presence.status,
        last_seen=format_ms(presence.last_seen_ms) if presence.last_seen_ms else None,
        last_stored_ms=presence.last_stored_ms,
        last_refused_ms=presence.last_refused_ms,
        last_refused_reason=presence.last_refused_reason,
        registered_by=device.source,
        foreign_id=device.foreign_id,
    )
