"""Walking the OpenAPI document with hostile values: no parameter of any route gets a 5xx.

Two walks over every operation, each made as an admin against the real app on a throwaway data
dir, writes included, so every route is reached past its guard:

- a sweep: every path and query parameter, and every field of a valid body, takes each of a
  list of boundary values (numbers beyond 64 bits, hundreds of digits, NaN, long strings,
  newlines) in turn, the rest of the request being valid;
- a random walk: schemathesis makes requests from each operation's schema, fitting and breaking
  it, and hypothesis swaps some of their values for real ids or boundary values. It is
  derandomized: the same cases every run.

Both demand an answer below 500, and a JSON {"error": ...} with every 4xx (under /open311/,
the GeoReport v2 specification's list of {code, description} instead).
"""

from __future__ import annotations

import io
import json
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from PIL import Image
from schemathesis import Case, GenerationMode
from schemathesis.core import NotSet

from village_brain.alerts.engine import AlertEngine
from village_brain.alerts.records import Webhook
from village_brain.alerts.signing import new_secret
from village_brain.alerts.silences import Matchers
from village_brain.api.app import create_app
from village_brain.api.context import ApiContext
from village_brain.auth.accounts import AccountStore
from village_brain.auth.gate import Gate
from village_brain.auth.roles import Role
from village_brain.control.records import CommandRequest, Origin
from village_brain.control.stage import ControlStage, Timing
from village_brain.control.store import CommandStore
from village_brain.core.bus import Bus
from village_brain.core.catalog import default_catalog
from village_brain.core.config import AlertSettings, AuthSettings, ReportSettings, load_settings
from village_brain.core.devices import Device
from village_brain.core.records import Reading
from village_brain.core.timefmt import now_ms
from village_brain.ingest.http_post import HttpIngest
from village_brain.ingest.pipeline import InboundMessage, Outcome
from village_brain.ingest.stats import IngestStats
from village_brain.reports.intake import ReportDesk, ReportForm
from village_brain.reports.store import ReportStore
from village_brain.reports.work_stage import WorkStage
from village_brain.store.device_tokens import DeviceTokenStore
from village_brain.store.registry import BatchRecord, RegistryStore
from village_brain.store.sqlite_series import SqliteSeriesStore

CASES_PER_OPERATION = 30
# Each of these checks or hashes a password with Argon2, slow on purpose.
FEWER_CASES = {("POST", "/api/v1/auth/login"): 15, ("POST", "/api/v1/users"): 20}
# It never ends: a walk would wait on it forever.
NOT_WALKED = {("GET", "/api/v1/live")}
# Answers that say a request was turned away before it did anything.
REFUSALS = {401, 403, 404, 405, 422, 429}
# No generated case knows a password, nor a device token (an admin's token cannot post).
ONLY_REFUSED = {
    ("POST", "/api/v1/auth/login"),
    ("POST", "/api/v1/ingest/{village}/{device}/telemetry"),
    ("POST", "/api/v1/ingest/webhooks/{source}"),
    # Nothing is pending and no device token is issued in the walk's village.
    ("POST", "/api/v1/device-admin/pending/{device}/approve"),
    ("POST", "/api/v1/device-admin/pending/{device}/refuse"),
    ("DELETE", "/api/v1/device-admin/devices/{device}/tokens/{token_id}"),
    # A generated window is almost never a duration we read or an end in the future; the
    # sweep's valid body reaches the code behind it.
    ("POST", "/api/v1/silences"),
    # No generated case knows a villager's private token, which is kept nowhere.
    ("GET", "/api/v1/public/reports/mine"),
}

ADMIN_NAME = "walker-admin-3f9c1e"
VIEWER_NAME = "walker-viewer"
WEBHOOK_ID = "wh_walk"
# Values that exist, so that requests get past "not found" to the code behind it.
REAL: dict[str, Any] = {
    "device": "g1",
    "sensor": "water_level",
    "village": "xiashan",
    "kind": "river_gauge",
    "alert_id": 1,
    "alert": 1,
    "rule_id": "walked",
    "webhook_id": WEBHOOK_ID,
    "webhook": WEBHOOK_ID,
    "name": VIEWER_NAME,
    "source": "lora",
    "delivery_id": 1,
    # Set by the fixture: silence ids are made when the silence is.
    "silence_id": "",
    "token_id": 1,
    "command": "c-walk",
    # Item 1 is a villager's report, made by the fixture; item 2 comes from alert 1.
    "item_id": 1,
    # Set by the fixture: photo ids and report numbers are made when the report is.
    "photo_id": "",
    "service_request_id": "",
    "service_code": "road",
    "fmt": "json",
}
RULE = {
    "name": "walked",
    "severity": "minor",
    "kind": "threshold",
    "sensor": "water_level",
    "above": 2.5,
    "clear_below": 2.4,
    "for": "2m",
    "repeat_every": "1h",
    "during": "22:00-05:00",
}
# A valid body for each operation that takes one: the sweep spoils one field at a time.
BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/api/v1/alerts/{alert_id}/ack"): {"comment": "seen"},
    ("POST", "/api/v1/alerts/{alert_id}/resolve"): {"note": "swept"},
    ("POST", "/api/v1/alerts/{alert_id}/assign"): {"assignee": "walker"},
    ("POST", "/api/v1/silences"): {
        "matchers": {"device": "g1"},
        "reason": "swept",
        "duration": "1h",
    },
    ("PATCH", "/api/v1/webhooks/{webhook_id}"): {"name": "patched", "enabled": True},
    ("POST", "/api/v1/rules"): dict(RULE, id="swept"),
    ("PUT", "/api/v1/rules/{rule_id}"): RULE,
    ("POST", "/api/v1/rules/preview"): RULE,
    ("POST", "/api/v1/webhooks"): {
        "url": "http://127.0.0.1:9/hook",
        "kind": "standard",
        "name": "swept",
        "severities": ["critical"],
        "villages": ["xiashan"],
        "events": ["alert.firing"],
        "enabled": True,
    },
    ("PUT", "/api/v1/webhooks/{webhook_id}"): {
        "url": "http://127.0.0.1:9/hook",
        "kind": "standard",
        "name": "put",
        "enabled": True,
    },
    ("POST", "/api/v1/auth/login"): {"name": VIEWER_NAME, "password": "wrong-password"},
    ("POST", "/api/v1/users"): {"name": "swept", "role": "viewer", "password": "river-bank-7"},
    ("POST", "/api/v1/work/{item_id}/triage"): {"category": "road", "priority": "high"},
    ("POST", "/api/v1/work/{item_id}/assign"): {"department": "村建"},
    ("POST", "/api/v1/work/{item_id}/close"): {"status": "resolved", "reason": "swept"},
    ("POST", "/api/v1/work/{item_id}/reopen"): {"reason": "swept"},
    ("POST", "/api/v1/work/{item_id}/notes"): {"text": "swept"},
    ("POST", "/api/v1/work/{item_id}/replies"): {"text": "swept"},
    ("POST", "/api/v1/work/{item_id}/link"): {"parent": 2},
    ("POST", "/api/v1/work/{item_id}/merge"): {"item_ids": [2]},
    ("POST", "/api/v1/similar/work-order"): {
        "item_ids": [1, 2],
        "title": "swept",
        "category": "road",
    },
    ("POST", "/api/v1/devices/{device}/commands"): {
        "target": "identify",
        "args": {"seconds": 30},
        "expires_in": 60,
        "reason": "swept",
    },
}

HUGE = "99999999999999999999"
HOSTILE_TEXT = [
    HUGE,
    "-" + HUGE,
    "9" * 400,
    "9" * 400 + "s",
    HUGE + "w",
    str(2**63),
    str(-(2**63) - 1),
    "1e400",
    "NaN",
    "-Infinity",
    "0",
    "-1",
    "",
    " ",
    "\n",
    "5m\n1h",
    "x" * 5000,
    "\x00",
    "%00",
    "١٢٣",
    "²",
    "../..",
    "0001-01-01T00:00:00+01:00",
    "9999-12-31T23:59:59-23:59",
    "2026-11-29T08:00:00",
]
HOSTILE_JSON: list[Any] = [
    10**400,
    2**64,
    -(2**63) - 1,
    math.nan,
    math.inf,
    -math.inf,
    -1,
    None,
    True,
    [],
    {},
    [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]],
    "9" * 400,
    "9" * 400 + "s",
    HUGE + "w",
    "",
    "\n",
    "x" * 5000,
]


@dataclass(frozen=True)
class Sent:
    method: str
    path: str
    path_parameters: dict[str, Any]
    query: dict[str, Any]
    body: Any = None

    def __str__(self) -> str:
        text = f"{self.method} {self.path} path={self.path_parameters!r} query={self.query!r}"
        body = "" if self.body is None else f" body={self.body!r}"
        return (text + body)[:400]


@dataclass
class Walk:
    requests: int = 0
    statuses: dict[tuple[str, str], set[int]] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)

    def judge(self, sent: Sent, status: int, body: bytes) -> None:
        self.requests += 1
        self.statuses.setdefault((sent.method, sent.path), set()).add(status)
        if 400 <= status < 500 and not _error_body(body, sent.path.startswith("/open311/")):
            self.failures.append(f"{status} without a JSON error from {sent}")
        if status < 500:
            return
        self.failures.append(f"{status} from {sent}: {body[:200]!r}")

    def report(self, what: str, took_s: float) -> None:
        print(
            f"\n{what}: {len(self.statuses)} operations, {self.requests} requests, {took_s:.0f} s"
        )


def _error_body(body: bytes, open311: bool = False) -> bool:
    try:
        parsed = json.loads(body)
    except ValueError:
        return False
    if open311:
        return (
            isinstance(parsed, list)
            and len(parsed) == 1
            and isinstance(parsed[0].get("code"), int)
            and bool(parsed[0].get("description"))
        )
    return (
        isinstance(parsed, dict) and isinstance(parsed.get("error"), str) and bool(parsed["error"])
    )


@pytest.fixture
def api(tmp_path) -> Iterator[tuple[FastAPI, str]]:
    """The app with every part enabled and something in each store; and an admin's token."""
    catalog = default_catalog()
    series = SqliteSeriesStore(tmp_path / "series.sqlite3")
    registry = RegistryStore(tmp_path / "registry.sqlite3")
    registry.upsert_devices(
        [Device(id="g1", village="xiashan", kind="river_gauge", sensors=("water_level",))]
    )
    series.write([Reading("xiashan", "g1", "water_level", now_ms() - 60_000, 1.5)])
    _store_deep_event(registry)
    bus = Bus()
    # Private targets allowed: webhook URLs are then not looked up in DNS.
    alerts = AlertEngine(
        AlertSettings(allow_private_targets=True), catalog, registry, bus, tmp_path / "alerts.db"
    )
    alerts.put_rule(dict(RULE, id="walked"))
    alerts.add_webhook(Webhook(WEBHOOK_ID, "http://127.0.0.1:9/hook", "standard", new_secret(), 0))
    # Above the danger line: alert 1 fires, with a delivery to the webhook in the outbox.
    alerts.on_batch([Reading("xiashan", "g1", "water_level", now_ms(), 3.5)], BatchRecord())
    silence = alerts.add_silence(Matchers(device="g1"), now_ms(), now_ms() + 3_600_000, "walk", "w")
    REAL["silence_id"] = silence.id
    accounts = AccountStore(tmp_path / "accounts.sqlite3")
    accounts.add(ADMIN_NAME, Role.ADMIN, "river-bank-7", 0)
    accounts.add(VIEWER_NAME, Role.VIEWER, "river-bank-7", 0)
    token = accounts.add_token(ADMIN_NAME, 0)
    stats = IngestStats()
    ctx = ApiContext(catalog, series, registry, lambda: stats.snapshot(0, True), bus=bus)
    ctx.alerts = alerts
    ctx.auth = Gate.for_service(accounts, AuthSettings(), demo=False)
    tokens = DeviceTokenStore(tmp_path / "registry.sqlite3")
    tokens.issue("gateway", "xiashan", None, 0)
    ctx.http_ingest = HttpIngest(_committed_at_once, tokens, 65_536, 5.0, ["lora"])
    ctx.control = _control(tmp_path, catalog, registry)
    ctx.reports, ctx.work = _work(tmp_path, registry, bus, alerts)
    yield create_app(ctx), token
    ctx.reports.store.close()
    ctx.control.store.close()
    tokens.close()
    alerts.stop()
    accounts.close()
    series.close()
    registry.close()


def _control(tmp_path, catalog, registry: RegistryStore) -> ControlStage:
    """A control stage whose broker connection takes every command, with one command in it."""
    stage = ControlStage(
        CommandStore(tmp_path / "control.sqlite3"),
        catalog,
        lambda device: (row := registry.device(device)) and row.device,
        lambda _command: True,
        Timing(default_expiry_ms=60_000, max_expiry_ms=86_400_000, done_timeout_ms=60_000),
    )
    stage.send(CommandRequest(device="g1", target="identify", id="c-walk"), Origin(by="walker"))
    return stage


def _work(
    tmp_path, registry: RegistryStore, bus: Bus, alerts: AlertEngine
) -> tuple[ReportDesk, WorkStage]:
    """The report desk with a report and its photo (item 1), and the work queue with an
    alert's order (item 2)."""
    desk = ReportDesk(ReportStore(tmp_path / "reports.sqlite3"), ReportSettings())
    photo = io.BytesIO()
    Image.new("RGB", (8, 8)).save(photo, "JPEG")
    form = ReportForm(category="road", description="walked", lat=30.27, lon=120.15)
    taken = desk.take(form, [photo.getvalue()], "127.0.0.1")
    REAL["photo_id"] = taken.report.photos[0]
    REAL["service_request_id"] = taken.report.number
    work = WorkStage(load_settings(store={"data_dir": tmp_path}), desk.store, registry, bus, alerts)
    alert = alerts.store.alert(1)
    assert alert is not None
    work.queue.from_alert(alert, None, "walker")
    return desk, work


def _committed_at_once(msg: InboundMessage) -> None:
    assert msg.done is not None
    msg.done(Outcome())


def _store_deep_event(registry: RegistryStore) -> None:
    """A row as an older ingest could have stored it, before data had a depth limit."""
    deep = "[" * 100_000 + "]" * 100_000
    with registry.db.transaction() as conn:
        conn.execute(
            "INSERT INTO events (village, device, ts_ms, type, data) VALUES (?, ?, ?, ?, ?)",
            ("xiashan", "g1", now_ms(), "door", f'{{"a": {deep}}}'),
        )


def _operations(app: FastAPI) -> list[tuple[str, str, dict[str, Any]]]:
    """(method, path, operation) of every walked operation; deletions last, so what they
    remove is there for the others first, and a user's tokens before the user."""
    found = [
        (method.upper(), path, operation)
        for path, operations in app.openapi()["paths"].items()
        for method, operation in operations.items()
        if (method.upper(), path) not in NOT_WALKED
    ]
    return sorted(
        found, key=lambda op: (op[0] == "DELETE", -len(op[1]) if op[0] == "DELETE" else 0)
    )


# --- the sweep ---------------------------------------------------------------------------


def _send(client: TestClient, sent: Sent) -> tuple[int, bytes]:
    path = sent.path
    for name, value in sent.path_parameters.items():
        path = path.replace("{" + name + "}", quote(str(value), safe=""))
    # Written out by hand: the HTTP client refuses to send NaN and infinity.
    content = None if sent.body is None else json.dumps(sent.body).encode()
    response = client.request(
        sent.method,
        path,
        params=sent.query,
        content=content,
        headers={"Content-Type": "application/json"} if content else {},
    )
    return response.status_code, response.content


def _sweep_requests(method: str, path: str, operation: dict[str, Any]) -> Iterator[Sent]:
    """A valid request, then that request with one parameter or body field spoiled at a time."""
    declared = operation.get("parameters", [])
    real_path = {p["name"]: REAL[p["name"]] for p in declared if p["in"] == "path"}
    body = BODIES.get((method, path))
    yield Sent(method, path, real_path, {}, body)
    for parameter in declared:
        where, name = parameter["in"], parameter["name"]
        for value in HOSTILE_TEXT:
            if where == "path":
                yield Sent(method, path, {**real_path, name: value}, {}, body)
            else:
                yield Sent(method, path, real_path, {name: value}, body)
    for name in body or {}:
        for value in HOSTILE_JSON:
            yield Sent(method, path, real_path, {}, {**(body or {}), name: value})


@pytest.mark.soak
def test_every_parameter_and_body_field_takes_every_boundary_value_without_a_5xx(api) -> None:
    app, token = api
    walk = Walk()
    started = time.monotonic()
    # One client for all: each request of a client outside `with` starts its own event loop.
    with TestClient(app, raise_server_exceptions=False) as client:
        client.headers["Authorization"] = f"Bearer {token}"
        for method, path, operation in _operations(app):
            for sent in _sweep_requests(method, path, operation):
                walk.judge(sent, *_send(client, sent))
    walk.report("boundary sweep", time.monotonic() - started)
    assert not walk.failures, "\n".join(walk.failures[:40])
    assert walk.requests > 1000


# --- the random walk ---------------------------------------------------------------------


def _mix(
    draw: st.DrawFn, values: dict[str, Any], names: list[str], choices: list[str]
) -> dict[str, Any]:
    """The generated values, some swapped for real or hostile ones, absent ones included."""
    mixed = dict(values)
    for name in names:
        choice = draw(st.sampled_from(choices))
        if choice == "real" and name in REAL:
            mixed[name] = REAL[name]
        elif choice == "hostile":
            mixed[name] = draw(st.sampled_from(HOSTILE_TEXT))
    return mixed


def _hostile_body(draw: st.DrawFn, case: Case) -> None:
    # Half of the time from a valid body, since few generated ones get past validation (a rule
    # body is free-form in the schema, a webhook needs a URL): so the code behind is reached.
    valid = BODIES.get((case.method, case.path))
    if valid is not None and draw(st.booleans()):
        case.body = dict(valid)
        # And half of those as they are: about one case in four then passes validation, so
        # whichever cases a hypothesis release draws, 30 of them reach the code behind.
        if draw(st.booleans()):
            return
    if isinstance(case.body, dict):
        body = dict(case.body)
        # About one field each time, so the rest of the body stays what it was.
        for name in sorted(body):
            if draw(st.integers(0, len(body))) == 0:
                body[name] = draw(st.sampled_from(HOSTILE_JSON))
        case.body = body


def _strategy(operation: Any) -> st.SearchStrategy[Case]:
    fitting = operation.as_strategy(GenerationMode.POSITIVE)
    # One case in three breaks the schema: such cases take schemathesis four times as long to
    # make, and the hostile values break it too.
    generated = st.one_of(fitting, fitting, operation.as_strategy(GenerationMode.NEGATIVE))
    declared = operation.definition.raw.get("parameters", [])
    names = {
        where: [p["name"] for p in declared if p["in"] == where] for where in ("path", "query")
    }

    @st.composite
    def mixed(draw: st.DrawFn) -> Case:
        case = draw(generated)
        # Mostly real ids in paths, so that requests get past "not found".
        case.path_parameters = _mix(
            draw,
            case.path_parameters or {},
            names["path"],
            ["real", "real", "generated", "hostile"],
        )
        case.query = _mix(
            draw, case.query or {}, names["query"], ["generated", "generated", "real", "hostile"]
        )
        _hostile_body(draw, case)
        return case

    return mixed()


def _walk(operation: Any, token: str, walk: Walk) -> None:
    key = (operation.method.upper(), operation.path)

    @settings(
        max_examples=FEWER_CASES.get(key, CASES_PER_OPERATION),
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=_strategy(operation))
    def one(case: Case) -> None:
        body = None if isinstance(case.body, NotSet) else case.body
        sent = Sent(key[0], key[1], dict(case.path_parameters), dict(case.query or {}), body)
        raw = {}
        if case.media_type == "application/json" and isinstance(body, dict | list):
            # The HTTP client refuses to send NaN and infinity; the point is to send them.
            raw = {"data": json.dumps(body).encode()}
        try:
            response = case.call(headers={"Authorization": f"Bearer {token}"}, **raw)
        except Exception as exc:  # escaped the app: a server would have dropped the line
            walk.failures.append(f"{type(exc).__name__}: {exc} from {sent}")
            return
        walk.judge(sent, response.status_code, response.content)

    one()


@pytest.mark.soak
def test_a_random_walk_of_the_openapi_document_finds_no_5xx(api) -> None:
    app, token = api
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = {(o.method.upper(), o.path): o for o in map(_ok, schema.get_all_operations())}
    walked = [(method, path) for method, path, _ in _operations(app)]
    walk = Walk()
    started = time.monotonic()
    for key in walked:
        _walk(operations[key], token, walk)
    walk.report("random walk", time.monotonic() - started)
    assert not walk.failures, "\n".join(walk.failures[:40])
    # The walk reached the code behind every guard and every lookup, not only the refusals.
    stuck = {
        op: codes
        for op, codes in walk.statuses.items()
        if codes <= REFUSALS and op not in ONLY_REFUSED
    }
    assert stuck == {}
    assert set(walk.statuses) == set(walked) and len(walked) >= 30


def _ok(result: Any) -> Any:
    return result.ok()
