"""Alerts (list, one, acknowledge, timeline) and the rules that raise them."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from fastapi import APIRouter, Body, Depends, HTTPException, Path, Query, Response
from pydantic import BaseModel, Field

from village_brain.alerts.engine import AlertEngine
from village_brain.alerts.rules import RuleError
from village_brain.alerts.store import AlertConflict
from village_brain.api.auth import ADMIN, OPERATOR, VIEWER
from village_brain.api.context import ApiContext, context
from village_brain.core.timefmt import format_ms

router = APIRouter(prefix="/api/v1", tags=["alerts"], dependencies=[VIEWER])
Ctx = Annotated[ApiContext, Depends(context)]
# SQLite row ids are 64-bit: a larger number names no alert, and cannot even be looked up.
MAX_ROW_ID = 2**63 - 1
AlertId = Annotated[int, Path(ge=1, le=MAX_ROW_ID, description="The alert's id.")]
StateFilter = Literal["active", "firing", "acknowledged", "resolved"]
SeverityFilter = Literal["critical", "major", "minor", "warning", "info"]


class AckIn(BaseModel):
    by: str = Field(min_length=1, max_length=100, description="Who acknowledges.")
    comment: str = Field("", max_length=2000)


class TimelineOut(BaseModel):
    kind: str = Field(description="fired, reminded, acknowledged or resolved.")
    time: str
    at_ms: int
    value: float | None
    by: str | None
    comment: str | None


def engine(ctx: ApiContext) -> AlertEngine:
    if ctx.alerts is None:
        raise HTTPException(404, "alerts are not enabled on this server")
    return ctx.alerts


@router.get("/alerts", summary="Alerts, newest first; state=active means firing or acknowledged")
def list_alerts(
    ctx: Ctx,
    state: StateFilter | None = None,
    severity: SeverityFilter | None = None,
    village: str | None = None,
    device: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    alerts = engine(ctx)
    found = alerts.store.alerts(state, severity, village, device, limit)
    return [alerts.describe(a) for a in found]


@router.get("/alerts/{alert_id}", summary="One alert")
def get_alert(ctx: Ctx, alert_id: AlertId) -> dict[str, Any]:
    alerts = engine(ctx)
    return alerts.describe(_find(alerts, alert_id))


@router.post(
    "/alerts/{alert_id}/ack", summary="Acknowledge a firing alert", dependencies=[OPERATOR]
)
def acknowledge(ctx: Ctx, alert_id: AlertId, ack: AckIn) -> dict[str, Any]:
    alerts = engine(ctx)
    try:
        return alerts.describe(alerts.acknowledge(alert_id, ack.by.strip(), ack.comment))
    except KeyError:
        raise HTTPException(404, f"no alert {alert_id}") from None
    except AlertConflict as exc:
        raise HTTPException(409, str(exc)) from None


@router.get("/alerts/{alert_id}/timeline", response_model=list[TimelineOut])
def timeline(ctx: Ctx, alert_id: AlertId) -> list[TimelineOut]:
    alerts = engine(ctx)
    _find(alerts, alert_id)
    return [
        TimelineOut(
            kind=e.kind,
            time=format_ms(e.at_ms),
            at_ms=e.at_ms,
            value=e.value,
            by=e.by,
            comment=e.comment,
        )
        for e in alerts.store.timeline(alert_id)
    ]


def _find(alerts: AlertEngine, alert_id: int) -> Any:
    alert = alerts.store.alert(alert_id)
    if alert is None:
        raise HTTPException(404, f"no alert {alert_id}")
    return alert


# --- rules -------------------------------------------------------------------------------

RuleBody = Annotated[dict[str, Any], Body(description="A rule, as in the rules file.")]


@router.get("/rules", summary="Rules in force: from the rules file and made through the API")
def list_rules(ctx: Ctx) -> list[dict[str, Any]]:
    alerts = engine(ctx)
    return [_rule_out(alerts, r) for r in alerts.rules()]


@router.get("/rules/{rule_id}", summary="One rule")
def get_rule(ctx: Ctx, rule_id: str) -> dict[str, Any]:
    alerts = engine(ctx)
    for rule in alerts.rules():
        if rule.id == rule_id:
            return _rule_out(alerts, rule)
    raise HTTPException(404, f"no rule {rule_id!r}")


@router.post("/rules", status_code=201, summary="Create a rule", dependencies=[ADMIN])
def create_rule(ctx: Ctx, body: RuleBody) -> dict[str, Any]:
    alerts = engine(ctx)
    if any(r.id == body.get("id") for r in alerts.rules()):
        raise HTTPException(409, f"rule {body.get('id')!r} exists; PUT /api/v1/rules/{{id}}")
    return _rule_out(alerts, _put(alerts, body))


@router.put(
    "/rules/{rule_id}",
    summary="Create or replace a rule (a file rule is overridden)",
    dependencies=[ADMIN],
)
def put_rule(ctx: Ctx, rule_id: str, body: RuleBody) -> dict[str, Any]:
    alerts = engine(ctx)
    return _rule_out(alerts, _put(alerts, {**body, "id": rule_id}))


@router.delete(
    "/rules/{rule_id}",
    status_code=204,
    summary="Delete a rule made through the API",
    dependencies=[ADMIN],
)
def delete_rule(ctx: Ctx, rule_id: str) -> Response:
    alerts = engine(ctx)
    if alerts.delete_rule(rule_id):
        return Response(status_code=204)
    if rule_id in alerts.file_rules:
        raise HTTPException(
            409, f"rule {rule_id!r} comes from the rules file; PUT it with enabled = false"
        )
    raise HTTPException(404, f"no rule {rule_id!r}")


def _put(alerts: AlertEngine, body: dict[str, Any]) -> Any:
    try:
        return alerts.put_rule(body)
    except RuleError as exc:
        raise HTTPException(422, str(exc)) from None


def _rule_out(alerts: AlertEngine, rule: Any) -> dict[str, Any]:
    return {**msgspec.to_builtins(rule), "source": alerts.rule_source(rule.id)}
