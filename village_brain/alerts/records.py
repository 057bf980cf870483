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
    # the rule's actions (alerts/actions.py): a command sent, done, failed, or not sent
    "command_sent",
    "command_done",
    "command_failed",
    "command_skipped",
]
WebhookKind = Literal["standard", "dingtalk", "wecom", "feishu"]
# skipped: not to be sent after all (inhibited, an escalation after an ack, a resolution of a
# firing that no one was told of); the row says why in last_error.
DeliveryState = Literal["pending", "sending", "delivered", "failed", "skipped"]
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


class Mention(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Whom a channel @-mentions, for alerts of some severities (empty: all)."""

    severities: tuple[str, ...] = ()
    mobiles: tuple[str, ...] = ()  # DingTalk, WeCom
    user_ids: tuple[str, ...] = ()  # WeCom userid, Feishu open_id / user_id
    at_all: bool = False

    def applies(self, severity: str) -> bool:
        return not self.severities or severity in self.severities


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
    mentions: tuple[Mention, ...] = ()
    # An admin let this channel call private, loopback or link-local addresses (a receiver
    # on the village LAN); others may only call public ones.
    allow_private: bool = False

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
    # One per (alert, transition, channel): unique in the outbox, so a change written twice
    # (a retried transaction) still gives one row, and each row is one delivery.
    delivery_key: str = ""
    group_key: str = ""  # rows of one channel and group may go out as one message
    due_ms: int | None = None  # later than the change for group waits, quiet hours, escalation

    def key(self) -> str:
        return self.delivery_key or f"{self.msg_id}.{self.webhook_id}"


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
    delivery_key: str = ""
    group_key: str = ""
    batch: int | None = None  # the id of the row whose message carried this one


class AttemptResult(msgspec.Struct, frozen=True):
    ok: bool
    status: int | None = None
    error: str | None = None
