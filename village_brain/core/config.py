"""Configuration: one file (TOML) plus environment variables, validated at start.

Precedence, highest first: command-line flags, environment (`VILLAGE_BRAIN_SECTION__KEY`),
the file named by `--config` or `VILLAGE_BRAIN_CONFIG`, then the defaults below.
"""

from __future__ import annotations

import os
import re
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from village_brain.core.hostport import split_host_port
from village_brain.core.timefmt import parse_duration_ms


def _duration(value: str) -> str:
    parse_duration_ms(value)
    return value


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MqttSettings(Section):
    url: str | None = Field(
        None,
        description="Broker URL such as mqtt://host:1883, or mqtts://host:8883 for TLS; "
        "unset runs the embedded broker.",
    )
    listen: str = Field(
        "0.0.0.0:1883",
        description="HOST:PORT the embedded broker listens on when mqtt.url is unset; "
        "0.0.0.0 is every interface, so devices on the LAN reach it. 127.0.0.1:1883 keeps "
        "it to this machine. A port in use stops the start, except with --demo.",
    )
    client_id: str = Field(
        "village-brain-ingest",
        description="Our MQTT client id; the broker keeps our session under it.",
    )
    username: str | None = Field(None, description="Broker user name, when it asks for one.")
    password: SecretStr | None = Field(None, description="Broker password; never logged.")
    session_expiry: str = Field("7d", description="How long the broker keeps our session offline.")
    keepalive: int = Field(30, ge=2, le=3600, description="Seconds between MQTT keepalives.")
    receive_maximum: int = Field(
        1000, ge=20, le=65535, description="QoS 1 messages the broker may send before our acks."
    )
    ca_file: Path | None = Field(
        None,
        description="CA certificate (PEM) that signed the broker's, for mqtts://; "
        "unset trusts the system's CAs.",
    )
    client_cert: Path | None = Field(
        None, description="Our client certificate (PEM), when the broker asks for one."
    )
    client_key: Path | None = Field(None, description="The private key (PEM) of client_cert.")

    _check_expiry = field_validator("session_expiry")(_duration)

    @field_validator("listen")
    @classmethod
    def _host_port(cls, value: str) -> str:
        split_host_port(value)
        return value

    @property
    def listen_address(self) -> tuple[str, int]:
        """mqtt.listen as (host, port)."""
        return split_host_port(self.listen)

    @field_validator("url")
    @classmethod
    def _mqtt_scheme(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("mqtt://", "tcp://", "mqtts://")):
            example = "mqtt://127.0.0.1:1883"
            raise ValueError(f"{value!r} must start with mqtt:// or mqtts:// (e.g. {example})")
        return value


class AmqpSettings(Section):
    """RabbitMQ partitions as the ingest input, when `ingest.input` is "amqp" (docs/scale.md)."""

    urls: list[str] = Field(
        ["amqp://guest:guest@127.0.0.1:5672/%2F"],
        min_length=1,
        description="AMQP URLs of the cluster's nodes; a worker that loses its node moves to "
        "the next.",
    )
    partitions: int = Field(
        8,
        ge=1,
        le=1024,
        description="Partition queues devices are spread over; every worker must agree. "
        "More partitions than workers, so that the load spreads when workers come and go.",
    )
    queue_prefix: str = Field(
        "vb.ingest",
        description="Queues are PREFIX.0 .. PREFIX.(partitions-1); the hash "
        "exchange is PREFIX.hash.",
    )
    prefetch: int = Field(
        1_000,
        ge=1,
        le=65_535,
        description="Unacknowledged messages one partition hands a worker at most.",
    )
    heartbeat: int = Field(10, ge=1, description="Seconds between AMQP heartbeats.")

    @field_validator("urls")
    @classmethod
    def _amqp_scheme(cls, value: list[str]) -> list[str]:
        for url in value:
            if not url.startswith(("amqp://", "amqps://")):
                raise ValueError(f"{url!r} must start with amqp:// or amqps://")
        return value


class IngestSettings(Section):
    input: Literal["mqtt", "amqp"] = Field(
        "mqtt",
        description="mqtt: subscribe to the broker in [mqtt]; amqp: consume RabbitMQ partition "
        "queues, configured in [amqp], so that several workers share the load.",
    )
    registration: Literal["auto", "strict"] = Field(
        "auto", description="auto: unknown devices are registered; strict: they are rejected."
    )
    max_payload_bytes: int = Field(
        65_536, ge=256, description="Larger telemetry payloads are rejected (payload_too_large)."
    )
    max_readings_per_message: int = Field(
        1_000, ge=1, description="Readings kept from one message; the rest are rejected."
    )
    max_clock_skew: str = Field("5m", description="How far ahead of our clock a reading may be.")
    max_backfill: str = Field("7d", description="How old a (buffered) reading may be.")
    batch_max_messages: int = Field(
        500, ge=1, description="Messages committed (then acknowledged) together at most."
    )
    batch_max_wait: str = Field(
        "20ms", description="Longest a message waits for its batch to fill before commit."
    )
    offline_after_intervals: float = Field(
        3.0, gt=0, description="Silent for this many report intervals means offline."
    )
    rejection_log_max: int = Field(
        10_000, ge=100, description="Rejections kept in the dead-letter log at most."
    )
    rejection_log_keep: str = Field("7d", description="Rejections older than this are dropped.")
    flood_window: str = Field(
        "1h",
        description="The flood guard counts each device's readings per sensor in windows of "
        "this length of the readings' own time (a backlog spreads over many windows).",
    )
    flood_factor: float = Field(
        60.0,
        ge=0,
        description="Readings of one sensor allowed per window: this many times what its report "
        "interval implies (or flood_min_readings if more); the rest are rate_limited. 0: off.",
    )
    flood_min_readings: int = Field(
        3_600, ge=1, description="Readings of one sensor per window that are never throttled."
    )
    stall_after: str = Field(
        "2m",
        description="Messages waiting this long with nothing committed (a store outage, a "
        'stuck writer) make /healthz answer 503 "stalled".',
    )
    http_wait: str = Field(
        "10s",
        description="How long a reading posted over HTTP waits for its commit; past it the "
        "poster is answered 503 with Retry-After (what it posted stays queued).",
    )
    sources: list[dict[str, Any]] = Field(
        [],
        description="Device families read on their own topics, as [[ingest.sources]] tables: "
        "adapter = one of docs/adapters.md plus its options. Our own village/... layout is "
        "always read as well.",
    )

    _check_durations = field_validator(
        "max_clock_skew",
        "max_backfill",
        "batch_max_wait",
        "rejection_log_keep",
        "flood_window",
        "stall_after",
        "http_wait",
    )(_duration)


class InfluxSettings(Section):
    """Where time series go when `store.backend` is "influxdb" (see docs/influxdb.md)."""

    url: str = Field("http://127.0.0.1:8086", description="InfluxDB base URL.")
    database: str = Field(
        "village_brain", description="Database read through /query (on 2.x, a DBRP-mapped name)."
    )
    bucket: str | None = Field(
        None, description="Write target for the v2 write API; unset means the database name."
    )
    org: str | None = Field(None, description="Organisation (InfluxDB 2.x); 1.8 ignores it.")
    token: SecretStr | None = Field(None, description="API token, sent as `Token ...`.")
    ca_file: Path | None = Field(
        None, description="CA certificate (PEM) for an https:// url; unset trusts the system's."
    )
    verify_tls: bool = Field(
        True, description="Check the server's certificate on https://; turn off only to test."
    )
    username: str | None = Field(None, description="InfluxDB 1.x user (basic auth).")
    password: SecretStr | None = None
    write_api: Literal["v2", "v1"] = Field(
        "v2", description="v2: /api/v2/write (1.8+, 2.x, 3.x); v1: /write (1.x before 1.8)."
    )
    timeout: str = Field("10s", description="A write or query slower than this counts as down.")
    max_points_per_request: int = Field(5_000, ge=1)
    spool_max_points: int = Field(
        2_000_000, ge=1, description="Points kept on disk while InfluxDB is unreachable."
    )
    spool_retry_max: str = Field("30s", description="Longest wait between tries to drain.")
    retention_by: Literal["delete", "server"] = Field(
        "delete",
        description="delete: store.retention runs InfluxQL DELETE; server: the bucket's "
        "retention does it (2.x, 3.x, VictoriaMetrics' -retentionPeriod).",
    )
    query_api: Literal["influxql", "prometheus"] = Field(
        "influxql",
        description="How series are read back: influxql (/query: InfluxDB 1.x, 2.x, 3.x) or "
        "prometheus (/api/v1/export and /api/v1/query: VictoriaMetrics).",
    )
    latest_within: str = Field(
        "1d",
        description="With query_api = prometheus: how far back each series' newest point is "
        "looked for first; an older one is found once over all time, then remembered.",
    )

    _check_durations = field_validator("timeout", "spool_retry_max", "latest_within")(_duration)

    @model_validator(mode="after")
    def _prometheus_cannot_delete(self) -> InfluxSettings:
        if self.query_api == "prometheus" and self.retention_by == "delete":
            raise ValueError(
                'query_api = "prometheus" (VictoriaMetrics) cannot delete points by age: set '
                'retention_by = "server" and start VictoriaMetrics with -retentionPeriod'
            )
        return self

    @field_validator("url")
    @classmethod
    def _http_scheme(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"{value!r} must start with http:// or https://")
        return value.rstrip("/")


class StoreSettings(Section):
    data_dir: Path = Field(Path("data"), description="Where the embedded store keeps its files.")
    retention: str = Field("365d", description="Points older than this are deleted hourly.")
    sqlite_synchronous: Literal["full", "normal"] = Field(
        "full", description="full survives power loss; normal survives only a process crash."
    )
    catalog_file: Path | None = Field(
        None, description="A sensor catalog of your own; unset uses the built-in one."
    )
    devices_file: Path | None = Field(
        None, description="Devices to register at start (TOML, see docs/configuration.md)."
    )
    backend: Literal["sqlite", "influxdb"] = Field(
        "sqlite",
        description="Where time series go; the registry stays in SQLite unless "
        "[cluster] postgres_dsn is set (then it and the accounts are there).",
    )
    influxdb: InfluxSettings = InfluxSettings()

    _check_retention = field_validator("retention")(_duration)


class HttpSettings(Section):
    host: str = Field("127.0.0.1", description="Address the API and dashboard listen on.")
    port: int = Field(8080, ge=0, le=65535, description="Port the API and dashboard listen on.")


class DashboardSettings(Section):
    time_zone: str = Field("Asia/Shanghai", description="IANA zone the dashboard shows times in.")
    language: Literal["zh", "en"] = Field(
        "zh", description="Language of a first visit; each browser remembers its own choice."
    )
    tile_url: str | None = Field(
        None,
        description="Map tiles such as https://tiles.example/{z}/{x}/{y}.png for online use; "
        "unset draws the village plan from device positions alone, offline.",
    )

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not a time zone name such as Asia/Shanghai") from None
        return value


def _duration_or_zero(value: str) -> str:
    return value if value.strip() in ("0", "0s") else _duration(value)


_HOURS = r"([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d"
_NOTIFY_SEVERITIES = ("critical", "major", "minor", "warning", "info")


class NotifyRoute(Section):
    """One [[alerts.notify.routes]] table: which alerts go to which channels."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    rules: list[str] = Field([], description="Rule ids; empty: any.")
    severities: list[str] = Field([], description="Empty: any.")
    villages: list[str] = Field([], description="Empty: any.")
    channels: list[str] = Field(description="Webhook ids or names the alerts go to.")
    continue_: bool = Field(
        False, alias="continue", description="Also try the routes below once this one matched."
    )
    escalate_after: str | None = Field(
        None, description="Unacknowledged this long after firing: tell escalate_to too."
    )
    escalate_to: list[str] = Field([], description="Webhook ids or names.")

    @field_validator("escalate_after")
    @classmethod
    def _after(cls, value: str | None) -> str | None:
        return value if value is None else _duration(value)


class NotifyInhibit(Section):
    """One [[alerts.notify.inhibit]] table: an open alert of a `source` severity keeps quiet
    the alerts of `target` severities on the same device and sensor."""

    source: list[str] = Field(["critical"])
    target: list[str] = Field(["major", "minor", "warning", "info"])


class NotifyMention(Section):
    """One [[alerts.notify.mentions]] table: whom a channel @-mentions, per severity."""

    channel: str = Field(description="Webhook id or name.")
    severities: list[str] = Field([], description="Empty: all.")
    mobiles: list[str] = Field([])
    user_ids: list[str] = Field([])
    at_all: bool = False


class NotifySettings(Section):
    """How alert changes become messages: routes, grouping, limits, quiet hours, language."""

    language: Literal["zh", "en"] = Field("zh", description="Language of the messages.")
    time_zone: str = Field("Asia/Shanghai", description="IANA zone of times in messages.")
    group_wait: str = Field(
        "5s",
        description="Wait this long after an alert's change for others of the same rule and "
        "village, sent as one message with a count; 0s: no wait. Critical alerts never wait.",
    )
    quiet_hours: str | None = Field(
        None,
        description="Local hours such as 22:00-07:00 when quiet_severities wait for the "
        "morning; critical alerts are never held.",
    )
    quiet_severities: list[str] = Field(
        ["minor", "warning", "info"],
        description="Severities quiet_hours hold back (never critical).",
    )
    rate_per_minute: dict[str, int] = Field(
        {},
        description="Messages a minute per channel of a kind, such as {dingtalk = 20}; "
        "defaults: dingtalk 20, wecom 20, feishu 100, standard unlimited. More alerts than "
        "that are merged into fewer messages, never dropped.",
    )
    routes: list[NotifyRoute] = Field(
        [],
        description="[[alerts.notify.routes]] tables, first match wins; none: every webhook "
        "that wants the alert gets it.",
    )
    inhibit: list[NotifyInhibit] = Field(
        [NotifyInhibit()],
        description="[[alerts.notify.inhibit]] tables; default: critical keeps quiet the "
        "lower severities of the same device and sensor.",
    )
    mentions: list[NotifyMention] = Field([], description="[[alerts.notify.mentions]] tables.")

    _check_wait = field_validator("group_wait")(_duration_or_zero)

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        return DashboardSettings._known_zone(value)

    @field_validator("quiet_hours")
    @classmethod
    def _hours(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(_HOURS, value):
            raise ValueError(f"{value!r} is not a window of local hours such as 22:00-07:00")
        return value

    @field_validator("quiet_severities")
    @classmethod
    def _never_critical(cls, value: list[str]) -> list[str]:
        if "critical" in value:
            raise ValueError("critical alerts cannot be held back by quiet hours")
        unknown = [v for v in value if v not in _NOTIFY_SEVERITIES]
        if unknown:
            raise ValueError(f"unknown severities {unknown}; use {list(_NOTIFY_SEVERITIES)}")
        return value


class AlertSettings(Section):
    """Alert rules, their evaluation and the delivery of notifications (see docs/alerts.md)."""

    enabled: bool = Field(True, description="Evaluate alert rules and send notifications.")
    rules_file: Path | None = Field(
        None, description="Rules file (TOML); unset uses the shipped default rules."
    )
    time_zone: str = Field("Asia/Shanghai", description="IANA zone of rule time windows.")
    night: str = Field("19:00-06:00", description='Local hours a rule `during = "night"` uses.')
    day: str = Field("08:00-17:00", description='Local hours a rule `during = "day"` uses.')
    repeat_every: str = Field(
        "4h", description="Remind of an unacknowledged alert this often, unless a rule says."
    )
    dashboard_url: str = Field(
        "http://127.0.0.1:8080", description="Base URL of the dashboard, for links in messages."
    )
    allow_private_targets: bool = Field(
        False, description="Allow webhooks to private, loopback and link-local addresses."
    )
    delivery_timeout: str = Field("5s", description="Longest wait for a receiver's answer.")
    delivery_workers: int = Field(4, ge=1, le=64, description="Threads sending notifications.")
    retry_first: str = Field("10s", description="Wait before the first retry; doubles after.")
    retry_max: str = Field("1h", description="Longest wait between retries.")
    max_attempts: int = Field(15, ge=1, description="Attempts before a delivery is given up.")
    channel_failing_after: int = Field(
        3, ge=1, description="Failed attempts in a row after which a channel raises its own alert."
    )
    evaluate_in: Literal["process", "thread"] = Field(
        "process",
        description="Evaluate rules in a process of their own, beside ingest, or in the ingest "
        "writer's thread (a worker of several always uses its thread).",
    )
    notify: NotifySettings = NotifySettings()

    _check_durations = field_validator(
        "repeat_every", "delivery_timeout", "retry_first", "retry_max"
    )(_duration)

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        return DashboardSettings._known_zone(value)

    @field_validator("night", "day")
    @classmethod
    def _hours(cls, value: str) -> str:
        if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d", value):
            raise ValueError(f"{value!r} is not a window of local hours such as 19:00-06:00")
        return value

    @field_validator("dashboard_url")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")


class AuthSettings(Section):
    """Who may read and act through the API and dashboard (see docs/accounts.md)."""

    anonymous_view: bool | None = Field(
        None,
        description="Let visitors who have not logged in read everything a viewer may; "
        "unset: off, except with --demo.",
    )
    session_lifetime: str = Field("7d", description="How long a dashboard login lasts.")
    secure_cookie: Literal["auto", "always", "never"] = Field(
        "auto",
        description="Mark the session cookie Secure (sent over https only); auto: when the "
        "login itself came over https.",
    )
    login_window: str = Field("15m", description="Failed logins are counted over this long.")
    login_failures_per_account: int = Field(
        5, ge=1, description="Failed logins to one account, in the window, before it is locked."
    )
    login_failures_per_address: int = Field(
        20,
        ge=1,
        description="Failed logins from one client address, in the window, before it "
        "is locked out.",
    )

    _check_durations = field_validator("session_lifetime", "login_window")(_duration)


class ScheduleSettings(Section):
    """One switching schedule: a target on and off each day (see docs/control.md)."""

    name: str = Field(description="Names the schedule in each command's audit trail.")
    village: str = Field(description="The village whose devices it switches.")
    latitude: float = Field(ge=-90, le=90, description="The village's latitude, degrees north.")
    longitude: float = Field(ge=-180, le=180, description="The village's longitude, degrees east.")
    time_zone: str = Field("Asia/Shanghai", description="IANA zone of fixed times.")
    target: str = Field("lamp_state", description="The controllable sensor type it switches.")
    kind: str | None = Field(
        "street_lamp", description="Only devices of this kind; unset: every device with target."
    )
    on: str = Field(
        "dusk",
        description="When it switches on: dusk, sunset, dawn, sunrise or HH:MM, "
        "with an optional offset such as dusk+15m or sunset-10m.",
    )
    off: str = Field("dawn", description="When it switches off, in the same form as `on`.")
    exceptions: dict[str, dict[str, str]] = Field(
        {},
        description='Per device: its own times ({on = "19:00", off = "23:30"}), or '
        '{skip = "why"} to leave it out.',
    )


class ControlSettings(Section):
    """Commands to devices, their lifecycle and schedules (see docs/control.md)."""

    enabled: bool = Field(True, description="Accept commands and run schedules.")
    default_expiry: str = Field(
        "5m", description="A command not taken by the device in this long expires."
    )
    max_expiry: str = Field("1d", description="The longest expiry a command may ask for.")
    done_timeout: str = Field(
        "2m", description="An accepted command without done or failed after this times out."
    )
    command_roles: dict[str, Literal["operator", "admin"]] = Field(
        {},
        description="The least role that may command each target (a sensor type or an "
        'action), e.g. {siren_state = "admin"}; unlisted targets need operator.',
    )
    schedules: list[ScheduleSettings] = Field([], description="Daily switching schedules.")

    _check_durations = field_validator("default_expiry", "max_expiry", "done_timeout")(_duration)


class ClusterSettings(Section):
    """Several workers sharing one village's state: needed only when more than one runs."""

    postgres_dsn: SecretStr | None = Field(
        None,
        description="PostgreSQL for the shared state (libpq form: `host=… dbname=… user=…` "
        "or postgresql://…); unset: one process, its state in SQLite. Never logged.",
    )
    lease_seconds: float = Field(
        15.0,
        gt=0,
        le=3600,
        description="How long a worker owns a partition without renewing it; a stalled "
        "worker's partitions pass to another after this.",
    )
    partitions: int = Field(
        16,
        ge=1,
        le=4096,
        description="Partitions the devices are split into, each evaluated by one worker; "
        "fixed for the life of a deployment (the input's partition queues match it).",
    )


# What a report category is like among the sensors: the alerts of these sensor types, or of
# devices of these kinds, count as related when staff look for the same problem nearby.
DEFAULT_RELATED = {
    "lighting": ["lamp_state", "lamp_power", "illuminance", "street_lamp"],
    "water": ["water_level", "rainfall", "water_leak", "sluice_position", "river_gauge"],
    "safety": ["smoke", "combustible_gas"],
    "road": ["cover_tilt"],
}


class SimilaritySettings(Section):
    """Finding the same problem in several places (see docs/reports-method.md)."""

    distance_m: float = Field(250, gt=0, description="Items this close on the plan may be alike.")
    window_hours: float = Field(
        72, gt=0, description="Items made this close in time, either way, may be alike."
    )
    related: dict[str, list[str]] = Field(
        DEFAULT_RELATED,
        description="Categories, sensor types and device kinds that count as the same problem, "
        'both ways, such as {lighting = ["lamp_state", "street_lamp"]}.',
    )
    limit: int = Field(20, ge=1, le=500, description="Similar items shown for one item at most.")
    hotspot_cell_m: float = Field(
        250, ge=10, description="Side of the hotspot grid's cells, for items without a named place."
    )
    hotspot_named_places: bool = Field(
        True, description="Count items at a place named on the plan by that name, not by cell."
    )
    hotspot_weeks: int = Field(
        8, ge=1, le=104, description="Weeks the hotspot view shows at first."
    )
    nearby_distance_m: float = Field(
        150, gt=0, description="What the public page lists as already reported nearby."
    )
    nearby_days: float = Field(30, gt=0, description="How far back the nearby list looks.")
    nearby_limit: int = Field(10, ge=1, le=100, description="Nearby reports listed at most.")
    nearby_per_minute: int = Field(
        30, ge=0, description="Nearby look-ups one network address may make a minute; 0: any."
    )


class Department(Section):
    """One [[reports.directory.departments]] table: whom work can be routed to."""

    id: str = Field(
        min_length=1,
        max_length=40,
        description="What categories and people name it by (a category's `department`).",
    )
    zh: str = Field(min_length=1, description="Its name in Chinese, e.g. 水务组.")
    en: str = Field("", description="Its name in English; unset shows the Chinese.")


class Person(Section):
    """One [[reports.directory.people]] table: someone work can be assigned to."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_.-]{0,31}$", description="Short code, e.g. wang.")
    name: str = Field(min_length=1, description="As staff call them, e.g. 王师傅.")
    department: str = Field(description="The id of their department.")
    account: str = Field(
        "", description="Their login account, so that what they claim (认领) is theirs."
    )


# The departments the default report categories name.
DEFAULT_DEPARTMENTS = [
    Department(id=i, zh=zh, en=en)
    for i, zh, en in (
        ("村委", "村委会", "Village committee"),
        ("村建", "村建组", "Village works"),
        ("水务", "水务组", "Water"),
        ("环卫", "环卫组", "Sanitation"),
        ("综治", "综治组", "Public safety"),
    )
]


class DirectorySettings(Section):
    """Departments and people the duty staff route work to (see docs/reports.md)."""

    departments: list[Department] = Field(
        DEFAULT_DEPARTMENTS,
        description="[[reports.directory.departments]] tables; default: those the default "
        "categories name.",
    )
    people: list[Person] = Field([], description="[[reports.directory.people]] tables.")

    @field_validator("departments")
    @classmethod
    def _unique_departments(cls, value: list[Department]) -> list[Department]:
        _no_repeats("department", [d.id for d in value])
        return value

    @field_validator("people")
    @classmethod
    def _unique_people(cls, value: list[Person]) -> list[Person]:
        _no_repeats("person", [p.id for p in value])
        return value

    def model_post_init(self, _context: Any) -> None:
        known = {d.id for d in self.departments}
        for person in self.people:
            if person.department not in known:
                raise ValueError(
                    f"person {person.id!r} is in department {person.department!r}, which the "
                    f"directory does not have ({', '.join(sorted(known))})"
                )


def _no_repeats(what: str, ids: list[str]) -> None:
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    if repeated:
        raise ValueError(f"{what} ids must be unique; repeated: {', '.join(repeated)}")


class QueueSettings(Section):
    """How the work queue links reports to devices and checks what is overdue."""

    link_within_m: float = Field(
        150.0,
        ge=0,
        description="A report this close to a device of a related kind is linked to it "
        "(a dark street beside a lamp); 0: never.",
    )
    related_kinds: dict[str, list[str]] = Field(
        {
            "lighting": ["street_lamp"],
            "water": ["river_gauge", "water_quality_buoy", "sluice_gate"],
            "road": ["manhole_cover"],
            "safety": ["smoke_detector", "siren", "manhole_cover"],
        },
        description="Per report category, the device kinds a report of it may be about.",
    )
    alert_categories: dict[str, str] = Field(
        {
            "street_lamp": "lighting",
            "river_gauge": "water",
            "water_quality_buoy": "water",
            "sluice_gate": "water",
            "manhole_cover": "road",
            "smoke_detector": "safety",
            "siren": "safety",
        },
        description="Per device kind, the category of a work order opened from its alert; "
        "other kinds get `other`.",
    )
    check_every: float = Field(
        1.0, gt=0, le=60, description="Seconds between looks for new and overdue work."
    )


class ReportChoice(Section):
    """One answer of a list question."""

    key: str = Field(min_length=1, max_length=40, description="Sent by Open311 clients.")
    name_zh: str = Field(min_length=1, description="Shown on the phone page in Chinese.")
    name_en: str = Field("", description="Shown in English; unset: the Chinese name.")


class ReportQuestion(Section):
    """An extra question of a category: an attribute in its Open311 service definition."""

    code: str = Field(pattern=r"^[a-z][a-z0-9_]{0,39}$", description="The attribute's code.")
    datatype: Literal["string", "number", "text", "singlevaluelist", "multivaluelist"] = Field(
        "string", description="What the answer is (Open311 datatypes)."
    )
    required: bool = Field(False, description="A report of this category must answer it.")
    description_zh: str = Field(min_length=1, description="The question, in Chinese.")
    description_en: str = Field("", description="The question in English; unset: the Chinese.")
    values: list[ReportChoice] = Field([], description="The answers of a list question.")


class ReportCategory(Section):
    """One kind of problem a villager can report (an Open311 service)."""

    code: str = Field(pattern=r"^[a-z][a-z0-9_]{0,39}$", description="The Open311 service_code.")
    name_zh: str = Field(min_length=1, description="The category's name in Chinese.")
    name_en: str = Field(min_length=1, description="The category's name in English.")
    due_hours: float | None = Field(
        None, gt=0, description="Hours from a report to its due time; unset: never due."
    )
    department: str = Field("", description="Who answers for it: Open311 agency_responsible.")
    questions: list[ReportQuestion] = Field([], description="Extra questions (attributes).")


def _category(
    code: str, zh: str, en: str, due_hours: float, department: str, *questions: ReportQuestion
) -> ReportCategory:
    return ReportCategory(
        code=code,
        name_zh=zh,
        name_en=en,
        due_hours=due_hours,
        department=department,
        questions=list(questions),
    )


_PASSABLE = ReportQuestion(
    code="passable",
    datatype="singlevaluelist",
    description_zh="还能通行吗？",
    description_en="Can people still get through?",
    values=[
        ReportChoice(key="yes", name_zh="能通行", name_en="Yes"),
        ReportChoice(key="hard", name_zh="勉强通行", name_en="With difficulty"),
        ReportChoice(key="no", name_zh="不能通行", name_en="No"),
    ],
)


DEFAULT_CATEGORIES = [
    _category("road", "道路桥梁", "Roads and bridges", 72, "村建", _PASSABLE),
    _category("water", "供水排水", "Water and drains", 24, "水务"),
    _category("lighting", "路灯照明", "Street lighting", 48, "村建"),
    _category("waste", "垃圾环境", "Waste and litter", 48, "环卫"),
    _category("safety", "安全隐患", "Safety hazard", 4, "综治"),
    _category("help", "求助", "Help request", 24, "村委"),
    _category("other", "其他", "Other", 72, "村委"),
]


class ReportSettings(Section):
    """Villagers' reports from the phone page and Open311 (see docs/reports.md)."""

    similarity: SimilaritySettings = SimilaritySettings()
    enabled: bool = Field(True, description="Take reports on /report and /open311/v2.")
    categories: list[ReportCategory] = Field(
        DEFAULT_CATEGORIES,
        min_length=1,
        description="What villagers can report, in order: [[reports.categories]] tables of "
        "code, name_zh, name_en, due_hours, department and [[reports.categories.questions]] "
        "(code, datatype, required, description_zh, description_en, values of key, name_zh, "
        "name_en). Giving any replaces the whole list.",
    )
    max_photos: int = Field(3, ge=0, le=10, description="Photos one report may carry.")
    max_photo_bytes: int = Field(
        8_000_000, ge=10_000, description="The largest photo file taken, in bytes."
    )
    max_photo_pixels: int = Field(
        40_000_000,
        ge=10_000,
        description="Photos with more pixels are refused undecoded (decompression bombs).",
    )
    photo_edge: int = Field(
        1600, ge=200, le=8000, description="Kept photos are shrunk to this longest edge, px."
    )
    max_description_chars: int = Field(2000, ge=10, description="The longest description.")
    per_address: int = Field(
        10, ge=0, description="Reports one network address may make per address_window; 0: any."
    )
    address_window: str = Field("1h", description="The window of per_address.")
    per_phone: int = Field(
        5, ge=0, description="Reports one phone number may make per phone_window; 0: any."
    )
    phone_window: str = Field("1d", description="The window of per_phone.")
    open311_api_keys: list[SecretStr] = Field(
        [], description="Keys an Open311 client must send to POST; none: POST is open."
    )
    jurisdiction_id: str = Field("", description="Open311 jurisdiction_id; unset: any.")
    public_plan: bool = Field(
        True, description="Show device positions on the public page's plan, to pick a place on."
    )
    directory: DirectorySettings = DirectorySettings()
    queue: QueueSettings = QueueSettings()

    _check_windows = field_validator("address_window", "phone_window")(_duration)

    @field_validator("categories")
    @classmethod
    def _unique_codes(cls, value: list[ReportCategory]) -> list[ReportCategory]:
        codes = [category.code for category in value]
        twice = sorted({code for code in codes if codes.count(code) > 1})
        if twice:
            raise ValueError(f"category codes must differ: {', '.join(twice)} given twice")
        return value

    def category(self, code: str) -> ReportCategory | None:
        return next((c for c in self.categories if c.code == code), None)

    def window_ms(self, which: Literal["address", "phone"]) -> int:
        return parse_duration_ms(self.address_window if which == "address" else self.phone_window)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="VILLAGE_BRAIN_", env_nested_delimiter="__", extra="forbid"
    )

    mqtt: MqttSettings = MqttSettings()
    ingest: IngestSettings = IngestSettings()
    amqp: AmqpSettings = AmqpSettings()
    store: StoreSettings = StoreSettings()
    http: HttpSettings = HttpSettings()
    dashboard: DashboardSettings = DashboardSettings()
    alerts: AlertSettings = AlertSettings()
    auth: AuthSettings = AuthSettings()
    control: ControlSettings = ControlSettings()
    cluster: ClusterSettings = ClusterSettings()
    reports: ReportSettings = ReportSettings()
    demo: bool = Field(False, description="Also run a simulated village.")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        path = _config_file.get() or os.environ.get("VILLAGE_BRAIN_CONFIG")
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if path:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=Path(path)))
        return tuple(sources)


# The file named by --config, for the settings source to read (instead of a global variable).
_config_file: ContextVar[Path | None] = ContextVar("config_file", default=None)


class ConfigError(Exception):
    """Configuration that cannot run; the message says what to fix."""


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Load settings from file and environment, apply flag overrides, and validate them all."""
    named = config_file or _env_config_file()
    if named is not None and not named.is_file():
        raise ConfigError(f"config file {named} does not exist (or is not a file)")
    token = _config_file.set(config_file)
    try:
        settings = Settings()
        merged = _deep_merge(settings.model_dump(), overrides)
        return Settings.model_validate(merged)
    except ValidationError as exc:
        raise ConfigError(_explain(exc)) from None
    except (OSError, ValueError) as exc:  # unreadable, not UTF-8, or not TOML
        raise ConfigError(f"config file {named}: {exc}; fix it and start again") from None
    finally:
        _config_file.reset(token)


def _env_config_file() -> Path | None:
    path = os.environ.get("VILLAGE_BRAIN_CONFIG")
    return Path(path) if path else None


def _deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        if value is None:
            continue
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def _explain(exc: ValidationError) -> str:
    lines = ["the configuration has problems:"]
    for error in exc.errors():
        where = ".".join(str(part) for part in error["loc"]) or "(top level)"
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "is not a setting Village Brain knows (check the spelling)"
        lines.append(f"  {where}: {message}")
    return "\n".join(lines)
