"""Alerts (list, one, timeline) and what people do to them; and the rules that raise them.

Who acknowledges, resolves or assigns is the caller's account, from the session or the
token: never a name typed into the request.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from fastapi import APIRouter, Body, Depends, HTTPException, Path, Query, Response
from pydantic import BaseModel, Field

from village_brain.alerts.desk import AlertDesk
from village_brain.alerts.engine import AlertEngine
from village_brain.alerts.records import Alert
from village_brain.alerts.rules import Rule, RuleError
from village_brain.alerts.store import AlertConflict
from village_brain.api.auth import ADMIN, VIEWER, require
from village_brain.api.context import ApiContext, context
from village_brain.api.schemas import AlertOut, RuleOut, TimelineOut
from village_brain.auth.gate import Principal
from village_brain.auth.roles import Role
from village_brain.core.timefmt import format_ms

router = APIRouter(prefix="/api/v1", tags=["alerts"], dependencies=[VIEWER])
Ctx = Annotated[ApiContext, Depends(context)]
Operator = Annotated[Principal, Depends(require(Role.OPERATOR))]
# SQLite row ids are 64-bit: a larger number names no alert, and cannot even be looked up.
MAX_ROW_ID = 2**63 - 1
AlertId = Annotated[int, Path(ge=1, le=MAX_ROW_ID, description="The alert's id.")]
# Evaluation and staff actions in one process, or staff actions only (an api process).
Alerts = AlertEngine | AlertDesk
StateFilter = Literal["active", "firing", "acknowledged", "resolved"]
SeverityFilter = Literal["critical", "major", "minor", "warning", "info"]


class AckIn(BaseModel):
    comment: str = Field("", max_length=2000)


class ResolveIn(BaseModel):
    note: str = Field(min_length=1, max_length=2000, description="Why it is closed by hand.")


class AssignIn(BaseModel):
    assignee: str | None = Field(
        None,
        min_length=1,
        max_length=100,
        description="Who takes it on (认领); unset: the caller. An empty body claims it.",
    )


def engine(ctx: ApiContext) -> Alerts:
    if ctx.alerts is None:
        raise HTTPException(404, "alerts are not enabled on this server")
    return ctx.alerts


def account(who: Principal) -> str:
    """The caller's account name; callers let in without one are named by their role."""
    return who.name or f"({who.role})"


def alert_out(alerts: Alerts, found: list[Alert]) -> list[AlertOut]:
    now = alerts.clock()
    assignees = alerts.lifecycle.assignees([a.id for a in found])
    return [
        AlertOut.model_validate(
            {
                **alerts.describe(a),
                "silenced_by": (muted := alerts.silencer.muting(a, now)),
                "silenced": bool(muted),
                "assignee": assignees.get(a.id),
            }
        )
        for a in found
    ]


@router.get("/alerts", summary="Alerts, newest first; state=active means firing or acknowledged")
def list_alerts(
    ctx: Ctx,
    state: StateFilter | None = None,
    severity: SeverityFilter | None = None,
    village: str | None = None,
    device: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[AlertOut]:
    alerts = engine(ctx)
    return alert_out(alerts, alerts.store.alerts(state, severity, village, device, limit))


@router.get("/alerts/{alert_id}", summary="One alert")
def get_alert(ctx: Ctx, alert_id: AlertId) -> AlertOut:
    alerts = engine(ctx)
    return alert_out(alerts, [_find(alerts, alert_id)])[0]


@router.post(
    "/alerts/{alert_id}/ack",
    summary="Acknowledge a firing alert, as the caller's account",
    responses={409: {"description": "It is not firing."}},
)
def acknowledge(ctx: Ctx, who: Operator, alert_id: AlertId, ack: AckIn) -> AlertOut:
    alerts = engine(ctx)
    return _act(alerts, lambda: alerts.acknowledge(alert_id, account(who), ack.comment.strip()))


@router.post(
    "/alerts/{alert_id}/unack",
    summary="Take an acknowledgement back: the alert fires (and reminds) again",
    responses={409: {"description": "It is not acknowledged."}},
)
def unacknowledge(ctx: Ctx, who: Operator, alert_id: AlertId) -> AlertOut:
    alerts = engine(ctx)
    return _act(alerts, lambda: alerts.unacknowledge(alert_id, account(who)))


@router.post(
    "/alerts/{alert_id}/resolve",
    summary="Resolve an alert by hand, with a note",
    responses={409: {"description": "It is already resolved."}},
)
def resolve(ctx: Ctx, who: Operator, alert_id: AlertId, body: ResolveIn) -> AlertOut:
    alerts = engine(ctx)
    note = body.note.strip()
    if not note:
        raise HTTPException(422, "say in note why the alert is closed by hand")
    return _act(alerts, lambda: alerts.resolve_by_hand(alert_id, account(who), note))


@router.post(
    "/alerts/{alert_id}/assign",
    summary="Assign an open alert to a person (认领); unset assignee: to the caller",
    responses={409: {"description": "It is already resolved."}},
)
def assign(ctx: Ctx, who: Operator, alert_id: AlertId, body: AssignIn | None = None) -> AlertOut:
    alerts = engine(ctx)
    me = account(who)
    assignee = (body.assignee.strip() if body and body.assignee else "") or me
    return _act(alerts, lambda: alerts.assign(alert_id, assignee, me))


@router.post(
    "/alerts/{alert_id}/unassign",
    summary="Take the assignment away",
    responses={409: {"description": "It is already resolved."}},
)
def unassign(ctx: Ctx, who: Operator, alert_id: AlertId) -> AlertOut:
    alerts = engine(ctx)
    return _act(alerts, lambda: alerts.assign(alert_id, None, account(who)))


@router.get("/alerts/{alert_id}/timeline", summary="Who did what to the alert, and when")
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


def _act(alerts: Alerts, change: Any) -> AlertOut:
    try:
        changed = change()
    except KeyError:
        raise HTTPException(404, "no such alert") from None
    except AlertConflict as exc:
        raise HTTPException(409, str(exc)) from None
    return alert_out(alerts, [changed])[0]


def _find(alerts: Alerts, alert_id: int) -> Alert:
    alert = alerts.store.alert(alert_id)
    if alert is None:
        raise HTTPException(404, f"no alert {alert_id}")
    return alert


# --- rules -------------------------------------------------------------------------------

RuleBody = Annotated[dict[str, Any], Body(description="A rule, as in the rules file.")]


@router.get(
    "/rules",
    response_model_exclude_none=True,
    summary="Rules in force: from the rules file and made through the API",
)
def list_rules(ctx: Ctx) -> list[RuleOut]:
    alerts = engine(ctx)
    return [_rule_out(alerts, r) for r in alerts.rules()]


@router.get("/rules/{rule_id}", summary="One rule", response_model_exclude_none=True)
def get_rule(ctx: Ctx, rule_id: str) -> RuleOut:
    alerts = engine(ctx)
    for rule in alerts.rules():
        if rule.id == rule_id:
            return _rule_out(alerts, rule)
    raise HTTPException(404, f"no rule {rule_id!r}")


@router.post(
    "/rules",
    status_code=201,
    summary="Create a rule",
    dependencies=[ADMIN],
    response_model_exclude_none=True,
)
def create_rule(ctx: Ctx, body: RuleBody) -> RuleOut:
    alerts = engine(ctx)
    if any(r.id == body.get("id") for r in alerts.rules()):
        raise HTTPException(409, f"rule {body.get('id')!r} exists; PUT /api/v1/rules/{{id}}")
    return _rule_out(alerts, _put(alerts, body))


@router.put(
    "/rules/{rule_id}",
    summary="Create or replace a rule (a file rule is overridden)",
    dependencies=[ADMIN],
    response_model_exclude_none=True,
)
def put_rule(ctx: Ctx, rule_id: str, body: RuleBody) -> RuleOut:
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


def _put(alerts: Alerts, body: dict[str, Any]) -> Rule:
    try:
        return alerts.put_rule(body)
    except RuleError as exc:
        raise HTTPException(422, str(exc)) from None


def _rule_out(alerts: Alerts, rule: Rule) -> RuleOut:
    return RuleOut.model_validate(
        {**msgspec.to_builtins(rule), "source": alerts.rule_source(rule.id)}
    )
