"""A rule's preview: the last days of stored readings replayed through it, before it is saved.

Grafana previews one query; this shows the rule's whole lifecycle, when it would have fired
and when resolved, for each device in its scope.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import BaseModel, Field

from village_brain.alerts.evaluator import Clockwork
from village_brain.alerts.preview import NotReplayable, in_scope, replay, sensors_of
from village_brain.alerts.rules import Rule, RuleError, parse_rule
from village_brain.api.auth import OPERATOR
from village_brain.api.context import ApiContext, context
from village_brain.api.routes_alerts import RuleBody, engine
from village_brain.core.devices import Device
from village_brain.core.timefmt import format_ms

router = APIRouter(prefix="/api/v1", tags=["alerts"], dependencies=[OPERATOR])
Ctx = Annotated[ApiContext, Depends(context)]
DAY_MS = 86_400_000
# Readings by the second, as the engine rebuilds rate windows: exact enough, and bounded.
REPLAY_STEP_MS = 1_000
CHART_POINTS = 240
CHART_SERIES = 6
# A replay reads every stored reading in its scope: a village-wide rule over a month on a big
# fleet would hold the API for minutes. 200 devices for a week, or 45 for a month.
DEVICE_DAYS_BUDGET = 1_400


class PreviewChange(BaseModel):
    action: Literal["fire", "resolve"]
    at: str
    at_ms: int
    device: str
    subject: str = Field(description="The sensor, or empty for the device as a whole.")
    value: float | None = None
    reason: str = ""


class PreviewSeries(BaseModel):
    device: str
    sensor: str
    points: list[tuple[int, float]] = Field(description="(time ms, mean) for a small chart.")


class RulePreviewOut(BaseModel):
    rule_id: str
    start: str
    end: str
    start_ms: int
    end_ms: int
    devices: list[str] = Field(description="The devices in the rule's scope.")
    readings: int = Field(description="How many stored readings were replayed.")
    changes: list[PreviewChange] = Field(description="Firings and resolutions, oldest first.")
    firing_at_end: list[str] = Field(description="device/subject still firing at the end.")
    series: list[PreviewSeries] = Field(description="The first few series, for a chart.")


@router.post(
    "/rules/preview",
    response_model=RulePreviewOut,
    summary="Replay the last days of stored readings through a rule (nothing is saved)",
    responses={422: {"description": "The rule is not usable, or cannot be replayed."}},
)
def preview_rule(
    ctx: Ctx, body: RuleBody, days: Annotated[int, Query(ge=1, le=31)] = 7
) -> RulePreviewOut:
    alerts = engine(ctx)
    raw = {"id": "preview", **body, "enabled": True}
    try:
        rule = parse_rule(raw, ctx.catalog, alerts.known())
    except RuleError as exc:
        raise HTTPException(422, str(exc)) from None
    end_ms = alerts.clock()
    start_ms = end_ms - days * DAY_MS
    scoped = [r.device for r in ctx.registry.devices() if in_scope(rule, r.device)]
    if len(scoped) * days > DEVICE_DAYS_BUDGET:
        raise HTTPException(
            422,
            f"the rule's scope holds {len(scoped)} devices: a preview replays at most "
            f"{DEVICE_DAYS_BUDGET} device-days ({DEVICE_DAYS_BUDGET // days} devices over "
            f"{days} days); narrow its village, place, kind or devices, or preview fewer days",
        )
    devices = [_with_sensors(ctx, d) for d in scoped]
    settings = alerts.settings
    try:
        found = replay(
            rule,
            ctx.catalog,
            devices,
            lambda d, s, a, b: _points(ctx, d, s, a, b),
            start_ms,
            end_ms,
            Clockwork(settings.time_zone, settings.night, settings.day),
            ctx.offline_after_intervals,
        )
    except NotReplayable as exc:
        raise HTTPException(422, str(exc)) from None
    return RulePreviewOut(
        rule_id=rule.id,
        start=format_ms(start_ms),
        end=format_ms(end_ms),
        start_ms=start_ms,
        end_ms=end_ms,
        devices=found.devices,
        readings=found.readings,
        changes=[
            PreviewChange(
                action=c.action,
                at=format_ms(c.at_ms),
                at_ms=c.at_ms,
                device=c.device,
                subject=c.subject,
                value=c.value,
                reason=c.reason,
            )
            for c in found.changes
        ],
        firing_at_end=[f"{d}/{s}" if s else d for d, s in found.firing_at_end],
        series=_chart(ctx, rule, devices, start_ms, end_ms),
    )


def _with_sensors(ctx: ApiContext, device: Device) -> Device:
    """A device registered without its sensors has those it reported."""
    if device.sensors:
        return device
    heard = tuple(v.sensor for v in ctx.series.latest(device.id))
    return msgspec.structs.replace(device, sensors=heard)


def _points(
    ctx: ApiContext, device: str, sensor: str, start_ms: int, end_ms: int
) -> list[tuple[int, float]]:
    buckets = ctx.series.series(device, sensor, start_ms, end_ms, REPLAY_STEP_MS)
    return [(b.start_ms, b.last) for b in buckets]


def _chart(
    ctx: ApiContext, rule: Rule, devices: list[Device], start_ms: int, end_ms: int
) -> list[PreviewSeries]:
    step = max(REPLAY_STEP_MS, (end_ms - start_ms) // CHART_POINTS)
    out = []
    for device in devices:
        for sensor in sensors_of(rule, device, ctx.catalog)[:1]:
            buckets = ctx.series.series(device.id, sensor, start_ms, end_ms, step)
            if buckets:
                points = [(b.start_ms, b.mean) for b in buckets]
                out.append(PreviewSeries(device=device.id, sensor=sensor, points=points))
        if len(out) >= CHART_SERIES:
            break
    return out
