"""Webhook subscriptions (channels) and the outbox of deliveries to them: subscribe, edit,
send a test message, and send a failed delivery again."""

from __future__ import annotations

import secrets
from typing import Annotated, Any, Literal

import msgspec
from fastapi import APIRouter, Depends, HTTPException, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from village_brain.alerts.channel_ops import NotFailed, resend, test_message
from village_brain.alerts.engine import _policy
from village_brain.alerts.records import EVENT_TYPES, Delivery, Mention, Webhook
from village_brain.alerts.redact import hide_keys
from village_brain.alerts.signing import new_secret, valid_secret
from village_brain.alerts.targets import TargetRefused
from village_brain.api.auth import ADMIN
from village_brain.api.auth_redact import shown_url
from village_brain.api.context import ApiContext, context
from village_brain.api.routes_alerts import MAX_ROW_ID, Alerts, SeverityFilter, engine
from village_brain.api.schemas import ChannelTestOut, DeliveryOut, MentionBody, WebhookOut
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
    mentions: list[MentionBody] = Field(default_factory=list, max_length=20)
    allow_private: bool = Field(
        False,
        description="Let this channel call private, loopback or link-local addresses (a "
        "receiver on the village LAN). Only for receivers you trust: the server's own "
        "network is reachable through it.",
    )


class WebhookPatch(BaseModel):
    """The settings to change; those left out stay as they are."""

    model_config = ConfigDict(extra="forbid")

    url: str | None = None
    kind: Literal["standard", "dingtalk", "wecom", "feishu"] | None = None
    name: str | None = None
    secret: str | None = None
    severities: list[SeverityFilter] | None = None
    villages: list[str] | None = None
    events: list[EventType] | None = None
    enabled: bool | None = None
    mentions: list[MentionBody] | None = Field(None, max_length=20)
    allow_private: bool | None = None


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
    secret = body.secret or (new_secret() if body.kind == "standard" else "")
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
        mentions=_mentions(body.mentions),
        allow_private=body.allow_private,
    )
    return _out(_save(engine(ctx), webhook), show_secret=True)


@router.put(
    "/webhooks/{webhook_id}",
    response_model=WebhookOut,
    summary="Replace a subscription's settings (an unset secret keeps the current one)",
)
def put_webhook(ctx: Ctx, webhook_id: str, body: WebhookIn) -> WebhookOut:
    alerts = engine(ctx)
    current = _webhook(alerts, webhook_id)
    fields = body.model_dump(exclude={"secret"})
    if body.secret is not None:
        fields["secret"] = body.secret
    return _out(_save(alerts, _changed(current, fields)))


@router.patch(
    "/webhooks/{webhook_id}",
    response_model=WebhookOut,
    summary="Change some of a subscription's settings",
)
def patch_webhook(ctx: Ctx, webhook_id: str, body: WebhookPatch) -> WebhookOut:
    alerts = engine(ctx)
    current = _webhook(alerts, webhook_id)
    return _out(
        _save(alerts, _changed(current, body.model_dump(exclude_unset=True, exclude_none=True)))
    )


@router.post(
    "/webhooks/{webhook_id}/test",
    response_model=ChannelTestOut,
    summary="Send a test message now and show the receiver's answer",
)
def test_webhook(ctx: Ctx, webhook_id: str) -> ChannelTestOut:
    alerts = engine(ctx)
    webhook = _webhook(alerts, webhook_id)
    settings = alerts.settings
    policy = _policy(settings)
    if webhook.allow_private:
        policy = msgspec.structs.replace(policy, allow_private=True)
    answer = test_message(webhook, alerts.catalog, settings.dashboard_url, policy, alerts.clock())
    return ChannelTestOut(
        ok=answer.ok, status=answer.status, error=answer.error, answer=answer.answer
    )


def _webhook(alerts: Alerts, webhook_id: str) -> Webhook:
    webhook = alerts.webhook(webhook_id)
    if webhook is None:
        raise HTTPException(404, f"no webhook {webhook_id!r}")
    return webhook


def _changed(current: Webhook, fields: dict[str, Any]) -> Webhook:
    for name in ("severities", "villages", "events"):
        if name in fields:
            fields[name] = tuple(fields[name])
    if fields.get("secret") is None:
        fields.pop("secret", None)
    if "mentions" in fields:
        fields["mentions"] = _mentions([MentionBody(**m) for m in fields["mentions"]])
    return msgspec.structs.replace(current, **fields)


def _mentions(bodies: list[MentionBody]) -> tuple[Mention, ...]:
    return tuple(
        Mention(tuple(m.severities), tuple(m.mobiles), tuple(m.user_ids), m.at_all) for m in bodies
    )


def _save(alerts: Alerts, webhook: Webhook) -> Webhook:
    if webhook.kind == "standard" and not valid_secret(webhook.secret):
        raise HTTPException(422, "secret must be whsec_ and base64 of at least 16 bytes")
    try:
        return alerts.add_webhook(webhook)
    except TargetRefused as exc:
        raise HTTPException(422, str(exc)) from None


@router.delete("/webhooks/{webhook_id}", status_code=204, summary="Unsubscribe")
def delete_webhook(ctx: Ctx, webhook_id: str) -> Response:
    if not engine(ctx).delete_webhook(webhook_id):
        raise HTTPException(404, f"no webhook {webhook_id!r}")
    return Response(status_code=204)


@router.get("/deliveries", response_model=list[DeliveryOut], summary="The outbox, newest first")
def list_deliveries(
    ctx: Ctx,
    state: Literal["pending", "sending", "delivered", "failed", "skipped"] | None = None,
    webhook: str | None = None,
    alert: Annotated[int | None, Query(ge=1, le=MAX_ROW_ID)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[DeliveryOut]:
    found = engine(ctx).store.deliveries(state, webhook, alert, limit)
    return [_delivery_out(d) for d in found]


@router.post(
    "/deliveries/{delivery_id}/resend",
    response_model=DeliveryOut,
    summary="Send a failed delivery again: one more attempt, due now",
    responses={409: {"description": "It has not failed."}},
)
def resend_delivery(
    ctx: Ctx, delivery_id: Annotated[int, Path(ge=1, le=MAX_ROW_ID)]
) -> DeliveryOut:
    alerts = engine(ctx)
    try:
        delivery = resend(alerts.store, delivery_id, alerts.clock())
    except KeyError:
        raise HTTPException(404, f"no delivery {delivery_id}") from None
    except NotFailed as exc:
        raise HTTPException(409, str(exc)) from None
    alerts.wake()
    return _delivery_out(delivery)


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
        mentions=[
            MentionBody(
                severities=list(m.severities),  # type: ignore[arg-type]
                mobiles=list(m.mobiles),
                user_ids=list(m.user_ids),
                at_all=m.at_all,
            )
            for m in webhook.mentions
        ],
        created=format_ms(webhook.created_ms),
        allow_private=webhook.allow_private,
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
        delivery_key=d.delivery_key,
        batch=d.batch,
    )
