"""Webhook subscriptions and the outbox of deliveries to them."""

from __future__ import annotations

import secrets
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Response
from pydantic import BaseModel, Field

from village_brain.alerts.records import EVENT_TYPES, Delivery, Webhook
from village_brain.alerts.redact import hide_keys
from village_brain.alerts.signing import new_secret, valid_secret
from village_brain.alerts.targets import TargetRefused
from village_brain.api.auth import ADMIN
from village_brain.api.auth_redact import shown_url
from village_brain.api.context import ApiContext, context
from village_brain.api.routes_alerts import MAX_ROW_ID, SeverityFilter, engine
from village_brain.core.timefmt import format_ms, now_ms

router = APIRouter(prefix="/api/v1", tags=["webhooks"], dependencies=[ADMIN])
Ctx = Annotated[ApiContext, Depends(context)]
EventType = Literal["alert.firing", "alert.acknowledged", "alert.resolved"]


class WebhookIn(BaseModel):
    url: str = Field(description="http(s) URL; for robots, the robot's webhook address.")
    kind: Literal["standard", "dingtalk", "wecom", "feishu"] = "standard"
    name: str = ""
    secret: str | None = Field(
        None,
        description="standard: a whsec_ secret (made for you when unset); dingtalk, feishu: "
        "the robot's signing secret (unset when the robot does not sign); wecom: unused.",
    )
    severities: list[SeverityFilter] = Field(default_factory=list, description="Empty: all.")
    villages: list[str] = Field(default_factory=list, description="Empty: all.")
    events: list[EventType] = Field(default_factory=lambda: list(EVENT_TYPES))
    enabled: bool = True


class WebhookOut(BaseModel):
    id: str
    url: str
    kind: str
    name: str
    severities: list[str]
    villages: list[str]
    events: list[str]
    enabled: bool
    created: str
    secret: str | None = Field(None, description="Shown once, in the answer to the creation.")


class DeliveryOut(BaseModel):
    id: int
    webhook_id: str
    alert_id: int
    msg_id: str
    event_type: str
    state: str = Field(
        description="pending, sending (being attempted), delivered or failed (given up)."
    )
    attempts: int
    created: str
    next_attempt: str | None
    last_attempt: str | None
    delivered: str | None
    last_status: int | None
    last_error: str | None


@router.get("/webhooks", response_model=list[WebhookOut], summary="Webhook subscriptions")
def list_webhooks(ctx: Ctx) -> list[WebhookOut]:
    return [_out(w) for w in engine(ctx).webhooks()]


@router.get("/webhooks/{webhook_id}", response_model=WebhookOut, summary="One subscription")
def get_webhook(ctx: Ctx, webhook_id: str) -> WebhookOut:
    webhook = engine(ctx).webhook(webhook_id)
    if webhook is None:
        raise HTTPException(404, f"no webhook {webhook_id!r}")
    return _out(webhook)


@router.post("/webhooks", response_model=WebhookOut, status_code=201, summary="Subscribe")
def create_webhook(ctx: Ctx, body: WebhookIn) -> WebhookOut:
    alerts = engine(ctx)
    secret = body.secret or ""
    if body.kind == "standard":
        secret = secret or new_secret()
        if not valid_secret(secret):
            raise HTTPException(422, "secret must be whsec_ and base64 of at least 16 bytes")
    webhook = Webhook(
        id=f"wh_{secrets.token_hex(8)}",
        url=body.url,
        kind=body.kind,
        secret=secret,
        created_ms=now_ms(),
        name=body.name,
        severities=tuple(body.severities),
        villages=tuple(body.villages),
        events=tuple(body.events),
        enabled=body.enabled,
    )
    try:
        alerts.add_webhook(webhook)
    except TargetRefused as exc:
        raise HTTPException(422, str(exc)) from None
    return _out(webhook, show_secret=True)


@router.delete("/webhooks/{webhook_id}", status_code=204, summary="Unsubscribe")
def delete_webhook(ctx: Ctx, webhook_id: str) -> Response:
    if not engine(ctx).delete_webhook(webhook_id):
        raise HTTPException(404, f"no webhook {webhook_id!r}")
    return Response(status_code=204)


@router.get("/deliveries", response_model=list[DeliveryOut], summary="The outbox, newest first")
def list_deliveries(
    ctx: Ctx,
    state: Literal["pending", "sending", "delivered", "failed"] | None = None,
    webhook: str | None = None,
    alert: Annotated[int | None, Query(ge=1, le=MAX_ROW_ID)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[DeliveryOut]:
    found = engine(ctx).store.deliveries(state, webhook, alert, limit)
    return [_delivery_out(d) for d in found]


def _out(webhook: Webhook, show_secret: bool = False) -> WebhookOut:
    return WebhookOut(
        id=webhook.id,
        url=webhook.url if show_secret else shown_url(webhook.url, webhook.kind),
        kind=webhook.kind,
        name=webhook.name,
        severities=list(webhook.severities),
        villages=list(webhook.villages),
        events=list(webhook.events),
        enabled=webhook.enabled,
        created=format_ms(webhook.created_ms),
        secret=webhook.secret if show_secret else None,
    )


def _time(ms: int | None) -> str | None:
    return format_ms(ms) if ms is not None else None


def _delivery_out(d: Delivery) -> DeliveryOut:
    return DeliveryOut(
        id=d.id,
        webhook_id=d.webhook_id,
        alert_id=d.alert_id,
        msg_id=d.msg_id,
        event_type=d.event_type,
        state=d.state,
        attempts=d.attempts,
        created=format_ms(d.created_ms),
        next_attempt=_time(d.next_attempt_ms),
        last_attempt=_time(d.last_attempt_ms),
        delivered=_time(d.delivered_ms),
        last_status=d.last_status,
        # Errors are kept without keys; older rows may still hold some.
        last_error=hide_keys(d.last_error) if d.last_error else None,
    )
