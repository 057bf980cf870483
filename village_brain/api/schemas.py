"""Response bodies of the HTTP API, as they appear in the OpenAPI document."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class ErrorBody(BaseModel):
    error: str = Field(description="What went wrong, in words a person can act on.")


_ALERT_BATCHES_WAITING = (
    "Committed batches not yet evaluated for alerts: a few while readings pour in, more when "
    "evaluation cannot keep up (ingest then slows to its pace; see docs/alerts.md). Absent "
    "without alerts."
)


class Health(BaseModel):
    status: Literal["ok", "stalled"] = Field(
        description="stalled (with HTTP 503): messages have waited longer than "
        "ingest.stall_after and nothing was committed meanwhile."
    )
    broker_connected: bool | None = Field(None, description="Shown to those who may read.")
    pending_messages: int | None = Field(
        None, description="Received and not yet acknowledged; shown to those who may read."
    )
    writer_restarts: int | None = Field(
        None,
        description="Times the ingest writer failed and was restarted since start; shown to "
        "those who may read.",
    )
    partitions_receiving: list[int] | None = Field(
        None,
        description="With the AMQP input: the partitions that delivered to this worker on its "
        "current connection (RabbitMQ does not tell a consumer it became a partition's "
        "active one, so an owned partition that stayed idle is not listed).",
    )
    alert_batches_waiting: int | None = Field(
        None, description=f"{_ALERT_BATCHES_WAITING} Shown to those who may read."
    )
    partitions_owned: list[int] | None = Field(
        None,
        description="With several workers ([cluster] postgres_dsn): the evaluation "
        "partitions whose lease this worker holds, whose alerts it evaluates.",
    )


class Location(BaseModel):
    lat: float | None
    lon: float | None
    place: str


class DeviceOut(BaseModel):
    id: str
    village: str
    kind: str
    name: str
    location: Location
    sensors: list[str]
    online: bool = Field(description="Heard from within the silence limit: health ok or refused.")
    health: Literal["ok", "refused", "offline", "unknown"] = Field(
        description="ok: online; refused: reporting, but refused (a message of it was refused "
        "within the silence limit and nothing of it was stored since); offline: silent beyond "
        "the silence limit, or its last status says offline; unknown: never heard from."
    )
    status: str | None = Field(description="Last status message: online, offline or none yet.")
    last_seen: str | None = Field(
        description="Last telemetry message received, RFC 3339 UTC, whether or not its readings "
        "were stored."
    )
    last_stored_ms: int | None = Field(
        description="Receipt time of the last message of which a reading or event was stored."
    )
    last_refused_ms: int | None = Field(
        description="Receipt time of the last message of which anything was refused."
    )
    last_refused_reason: str | None = Field(
        description="Why that message was refused: a reason of GET /api/v1/ingest/rejections."
    )
    registered_by: str = Field(description="file, api or auto (first message).")
    foreign_id: str = Field(
        "", description="The device's id in its own family (a DevEUI, a Tasmota topic), if any."
    )


class LatestOut(BaseModel):
    sensor: str
    value: float
    unit: str
    symbol: str
    time: str
    ts_ms: int
    age_s: float


class DeviceLatest(BaseModel):
    device: str
    readings: list[LatestOut]


class BucketOut(BaseModel):
    start: str
    start_ms: int
    min: float
    max: float
    mean: float
    count: int
    last: float


class SeriesOut(BaseModel):
    device: str
    sensor: str
    unit: str
    start_ms: int
    end_ms: int
    step_ms: int
    buckets: list[BucketOut]


class SensorTypeOut(BaseModel):
    id: str
    quantity: str
    unit: str
    symbol: str
    kind: str
    min: float | None
    max: float | None
    resolution: float | None
    interval: str
    accepted_units: list[str]


class StatsOut(BaseModel):
    started: str
    messages_received: int
    readings_stored: int
    readings_duplicate: int = Field(description="Redelivered readings ignored by the dedupe rule.")
    rejected_total: int
    rejected_by_reason: dict[str, int]
    rejected_repeats: int = Field(
        0,
        description="Retained messages the broker sent again (at a reconnection or restart) "
        "that were already refused: counted here, not logged again.",
    )
    readings_per_second: float = Field(description="Stored readings per second, last 10 s.")
    pending_messages: int
    broker_connected: bool
    last_commit: str | None
    throttled_devices: list[str] = Field(
        default=[], description="Devices refused as rate_limited in the last 10 minutes."
    )
    stalled: bool = Field(
        False, description="Messages wait and nothing was committed for ingest.stall_after."
    )
    writer_restarts: int = Field(0, description="Times the ingest writer failed and restarted.")
    alert_batches_waiting: int | None = Field(None, description=_ALERT_BATCHES_WAITING)
    by_source: dict[str, SourceOut] = Field(
        default={}, description="Messages per source: native is our own village/... layout."
    )


class SourceOut(BaseModel):
    messages: int
    rejected: int = Field(description="Rejections of this source's messages and readings.")
    quiet: int = Field(description="The family's own messages that carry nothing to store.")
    skipped_fields: int = Field(description="Fields no field table maps to a sensor type.")


class RejectionOut(BaseModel):
    time: str
    reason: str
    detail: str
    topic: str
    village: str | None
    device: str | None
    sensor: str | None
    excerpt: str


class EventOut(BaseModel):
    time: str
    ts_ms: int
    type: str
    data: dict[str, object]
    data_text: str | None = Field(
        None,
        description="The stored data as text (cut at 2000 characters) when it cannot be shown "
        "as an object: nested more than 64 deep, holding NaN or infinity, or not a JSON "
        "object. data is then {}.",
    )


# --- alerts, their timeline, rules, silences, channels and deliveries --------------------


class AlertOut(BaseModel):
    """One alert, as the alerts API and the dashboard show it."""

    id: int
    state: Literal["firing", "acknowledged", "resolved"]
    severity: str
    rule_id: str
    rule_name: str
    kind: str = Field(description="The rule's kind; channel for a channel that keeps failing.")
    message: str
    village: str
    device: str
    device_name: str
    place: str
    lat: float | None
    lon: float | None
    sensor: str | None
    event: str | None
    value: float | None
    unit: str | None
    started: str
    started_ms: int
    updated_ms: int
    acked_by: str | None = Field(description="The account that acknowledged it.")
    ack_comment: str | None
    acked: str | None
    resolved: str | None
    reminders: int
    link: str
    silenced: bool = Field(
        False, description="Muted by a silence now: it sends no messages meanwhile."
    )
    silenced_by: list[str] = Field(default=[], description="Ids of the silences muting it.")
    assignee: str | None = Field(None, description="Who it is assigned to (认领), if anyone.")


class TimelineOut(BaseModel):
    kind: str = Field(
        description="fired, reminded, acknowledged, unacknowledged, assigned, unassigned, "
        "silenced, unsilenced, resolved; for a rule action's command: command_sent, "
        "command_done, command_failed or command_skipped (the comment says which command)."
    )
    time: str
    at_ms: int
    value: float | None
    by: str | None = Field(description="The account that did it; none for the engine's own.")
    comment: str | None = Field(
        description="The comment or note; for assigned, the assignee; for silenced, the silences."
    )


class RuleActionOut(BaseModel):
    """A command the rule's alert sends on a transition (docs/alerts.md, rule actions)."""

    target: str
    on: Literal["fired", "resolved"] = "fired"
    value: str | float | bool | None = None
    devices: list[str] | None = None
    device_kind: str | None = None
    place: str | None = None
    cooldown: str | None = None
    expires_in: str | None = None


class RuleOut(BaseModel):
    """A rule as in the rules file; unset fields are left out."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    id: str
    name: str
    severity: str
    kind: str
    source: Literal["file", "api"]
    sensor: str | None = None
    village: str | None = None
    device: str | None = None
    place: str | None = None
    above: float | None = None
    below: float | None = None
    clear_below: float | None = None
    clear_above: float | None = None
    for_: str | None = Field(None, alias="for")
    equals: bool | None = None
    rise: float | None = None
    fall: float | None = None
    within: str | None = None
    silent_for: str | None = None
    event: str | None = None
    clear_after: str | None = None
    during: str | None = None
    while_on: str | None = None
    repeat_every: str | None = None
    devices: list[str] | None = Field(None, description="Only these devices.")
    device_kind: str | None = Field(None, description="Only devices of this kind.")
    min_points: int | None = Field(None, description="rate: readings in a row that must show it.")
    actions: list[RuleActionOut] | None = Field(None, description="Commands sent on transitions.")
    enabled: bool = True
    description: str = ""


class MatchersBody(BaseModel):
    """What a silence mutes: each set matcher must equal the alert's; at least one is set."""

    model_config = ConfigDict(extra="forbid")

    rule: str | None = Field(None, max_length=200, description="A rule id.")
    device: str | None = Field(None, max_length=200)
    village: str | None = Field(None, max_length=200)
    place: str | None = Field(None, max_length=200, description="The device's place.")
    sensor: str | None = Field(None, max_length=200, description="A sensor type id.")
    severity: Literal["critical", "major", "minor", "warning", "info"] | None = None


class SilenceOut(BaseModel):
    id: str
    matchers: MatchersBody
    state: Literal["pending", "active", "expired"]
    starts: str
    starts_ms: int
    ends: str
    ends_ms: int
    reason: str
    created_by: str = Field(description="The account that made it.")
    created: str
    expired_by: str | None = Field(description="The account that ended it early, if any.")


class MentionBody(BaseModel):
    """Whom a channel @-mentions, for alerts of some severities (empty: all)."""

    model_config = ConfigDict(extra="forbid")

    severities: list[Literal["critical", "major", "minor", "warning", "info"]] = []
    mobiles: list[str] = Field([], max_length=50, description="DingTalk, WeCom: phone numbers.")
    user_ids: list[str] = Field(
        [], max_length=50, description="WeCom userid; Feishu open_id or user_id."
    )
    at_all: bool = False


class WebhookOut(BaseModel):
    id: str
    url: str
    kind: str
    name: str
    severities: list[str]
    villages: list[str]
    events: list[str]
    enabled: bool
    mentions: list[MentionBody] = []
    allow_private: bool = Field(
        False, description="This channel may call private, loopback or link-local addresses."
    )
    created: str
    secret: str | None = Field(None, description="Shown once, in the answer to the creation.")


class DeliveryOut(BaseModel):
    id: int
    webhook_id: str
    alert_id: int
    msg_id: str
    event_type: str
    state: str = Field(
        description="pending, sending (being attempted), delivered, failed (given up) or "
        "skipped (inhibited, or no longer needed; the reason is the last error)."
    )
    delivery_key: str = Field("", description="One per alert change and channel.")
    batch: int | None = Field(None, description="The delivery whose message carried this one.")
    attempts: int
    created: str
    next_attempt: str | None
    last_attempt: str | None
    delivered: str | None
    last_status: int | None
    last_error: str | None


class ChannelTestOut(BaseModel):
    ok: bool = Field(description="The receiver took the message.")
    status: int | None = Field(description="The receiver's HTTP status, if it answered.")
    error: str | None = Field(description="Why it was not taken.")
    answer: str | None = Field(description="The receiver's answer body (at most 2000 chars).")
