"""Plain records of the alert side: alerts, their timeline, webhooks and deliveries."""

from __future__ import annotations

from typing import Literal

import msgspec

AlertState = Literal["firing", "acknowledged", "resolved"]
EntryKind = Literal[
    "fired",
    "acknowledged",
    "resolved",
    "reminded",
    # people's actions and silences, which send nothing themselves
    "unacknowledged",
    "assigned",
    "unassigned",
    "silenced",
    "unsilenced",
]
WebhookKind = Literal["standard", "dingtalk", "wecom", "feishu"]
DeliveryState = Literal["pending", "sending", "delivered", "failed"]
EVENT_TYPES: tuple[str, ...] = ("alert.firing", "alert.acknowledged", "alert.resolved")


class Alert(msgspec.Struct, frozen=True):
    """One alert: a rule's condition held for one subject, from firing until resolved."""

    id: int
    rule_id: str
    rule_name: str
    severity: str
    kind: str
    village: str
    device: str
    subject: str  # the sensor, the event type, or "" for the device as a whole
    state: AlertState
    message: str
    started_ms: int
    updated_ms: int
    value: float | None = None
    acked_ms: int | None = None
    acked_by: str | None = None
    ack_comment: str | None = None
    resolved_ms: int | None = None
    notified_ms: int | None = None
    reminders: int = 0


class NewAlert(msgspec.Struct, frozen=True):
    rule_id: str
    rule_name: str
    severity: str
    kind: str
    village: str
    device: str
    subject: str
    message: str
    at_ms: int
    value: float | None = None


class TimelineEntry(msgspec.Struct, frozen=True):
    id: int
    alert_id: int
    kind: EntryKind
    at_ms: int
    value: float | None = None
    by: str | None = None
    comment: str | None = None


class Webhook(msgspec.Struct, frozen=True):
    """A subscription: where to send which alert events, and how to sign them."""

    id: str
    url: str
    kind: WebhookKind
    secret: str
    created_ms: int
    name: str = ""
    severities: tuple[str, ...] = ()  # empty: all
    villages: tuple[str, ...] = ()  # empty: all
    events: tuple[str, ...] = EVENT_TYPES
    enabled: bool = True

    def wants(self, event_type: str, severity: str, village: str) -> bool:
        return (
            self.enabled
            and event_type in self.events
            and (not self.severities or severity in self.severities)
            and (not self.villages or village in self.villages)
        )


class Outgoing(msgspec.Struct, frozen=True):
    """A message to put in the outbox, in the same transaction as the alert change."""

    webhook_id: str
    msg_id: str
    event_type: str
    body: str


class Delivery(msgspec.Struct, frozen=True):
    id: int
    webhook_id: str
    alert_id: int
    msg_id: str
    event_type: str
    body: str
    state: DeliveryState
    attempts: int
    created_ms: int
    next_attempt_ms: int | None = None
    last_attempt_ms: int | None = None
    delivered_ms: int | None = None
    last_status: int | None = None
    last_error: str | None = None


class AttemptResult(msgspec.Struct, frozen=True):
    ok: bool
    status: int | None = None
    error: str | None = None
