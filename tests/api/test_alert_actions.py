"""What people do to alerts through the API, as their own accounts: acknowledge, take it
back, resolve with a note, assign; silences; editing and testing channels, re-sending.

The real app over a real alert engine and real stores, with accounts and tokens: who did it
is always the token's account.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from village_brain.alerts.engine import AlertEngine
from village_brain.alerts.records import AttemptResult, Webhook
from village_brain.alerts.signing import new_secret
from village_brain.api.app import create_app
from village_brain.api.context import ApiContext
from village_brain.auth.accounts import AccountStore
from village_brain.auth.gate import Gate
from village_brain.auth.roles import Role
from village_brain.core.bus import Bus
from village_brain.core.catalog import default_catalog
from village_brain.core.config import AlertSettings, AuthSettings
from village_brain.core.devices import Device
from village_brain.core.records import Reading
from village_brain.core.timefmt import now_ms
from village_brain.ingest.stats import IngestStats
from village_brain.store.registry import BatchRecord, RegistryStore
from village_brain.store.sqlite_series import SqliteSeriesStore

PEOPLE = {"wang": Role.OPERATOR, "li": Role.VIEWER, "zhao": Role.ADMIN}


class World:
    def __init__(self, client: TestClient, engine: AlertEngine, tokens: dict[str, str]) -> None:
        self.client = client
        self.engine = engine
        self.tokens = tokens

    def as_(self, name: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[name]}"}

    def post(self, path: str, name: str = "wang", **body: object):
        return self.client.post(path, json=body, headers=self.as_(name))

    def get(self, path: str, name: str = "wang", **params: object):
        return self.client.get(path, params=params, headers=self.as_(name))

    def flood(self, device: str = "g1") -> int:
        reading = Reading("xiashan", device, "water_level", now_ms(), 3.5)
        self.engine.on_batch([reading], BatchRecord())
        (alert,) = self.engine.store.alerts(device=device, severity="critical")
        return alert.id


@pytest.fixture(scope="module")
def people(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    """The accounts and their tokens, hashed once for the module (Argon2 is slow on purpose)."""
    path = tmp_path_factory.mktemp("people") / "accounts.sqlite3"
    accounts = AccountStore(path)
    tokens = {}
    for name, role in PEOPLE.items():
        accounts.add(name, role, "river-bank-7", 0)
        tokens[name] = accounts.add_token(name, 0)
    accounts.close()
    return path, tokens


@pytest.fixture
def world(tmp_path: Path, people: tuple[Path, dict[str, str]]) -> Iterator[World]:
    catalog = default_catalog()
    series = SqliteSeriesStore(tmp_path / "series.sqlite3")
    registry = RegistryStore(tmp_path / "registry.sqlite3")
    registry.upsert_devices(
        [Device(id, "xiashan", place="北桥", sensors=("water_level",)) for id in ("g1", "g2")]
    )
    engine = AlertEngine(
        AlertSettings(allow_private_targets=True), catalog, registry, Bus(), tmp_path / "a.db"
    )
    engine.add_webhook(Webhook("wh_1", "http://127.0.0.1:9/hook", "standard", new_secret(), 0))
    template, tokens = people
    shutil.copy(template, tmp_path / "accounts.sqlite3")
    accounts = AccountStore(tmp_path / "accounts.sqlite3")
    stats = IngestStats()
    ctx = ApiContext(catalog, series, registry, lambda: stats.snapshot(0, True))
    ctx.alerts = engine
    ctx.auth = Gate.for_service(accounts, AuthSettings(), demo=False)
    with TestClient(create_app(ctx)) as client:
        yield World(client, engine, tokens)
    engine.stop()
    accounts.close()
    series.close()
    registry.close()


def timeline(world: World, alert_id: int) -> list[tuple[str, str | None, str | None]]:
    entries = world.get(f"/api/v1/alerts/{alert_id}/timeline").json()
    return [(e["kind"], e["by"], e["comment"]) for e in entries]


def queued(world: World, alert_id: int) -> list[str]:
    return [d.event_type for d in reversed(world.engine.store.deliveries(alert_id=alert_id))]


# --- lifecycle ---------------------------------------------------------------------------


def test_an_acknowledgement_is_the_token_accounts_never_a_typed_name(world):
    alert_id = world.flood()
    answer = world.post(f"/api/v1/alerts/{alert_id}/ack", by="李书记", comment="沙袋已到位")
    assert answer.status_code == 200, answer.text
    assert (answer.json()["state"], answer.json()["acked_by"]) == ("acknowledged", "wang")
    assert timeline(world, alert_id)[-1] == ("acknowledged", "wang", "沙袋已到位")


def test_a_viewer_cannot_acknowledge(world):
    alert_id = world.flood()
    assert world.post(f"/api/v1/alerts/{alert_id}/ack", "li").status_code == 403


def test_taking_an_acknowledgement_back_makes_the_alert_fire_again(world):
    alert_id = world.flood()
    world.post(f"/api/v1/alerts/{alert_id}/ack", comment="")
    answer = world.post(f"/api/v1/alerts/{alert_id}/unack", "zhao")
    assert answer.status_code == 200, answer.text
    assert (answer.json()["state"], answer.json()["acked_by"]) == ("firing", None)
    assert timeline(world, alert_id)[-1] == ("unacknowledged", "zhao", None)
    assert world.post(f"/api/v1/alerts/{alert_id}/unack").status_code == 409


def test_resolving_by_hand_keeps_the_note_and_tells_the_channels(world):
    alert_id = world.flood()
    answer = world.post(f"/api/v1/alerts/{alert_id}/resolve", note="传感器被水草缠住，已清理")
    assert answer.status_code == 200, answer.text
    assert answer.json()["state"] == "resolved"
    assert timeline(world, alert_id)[-1] == ("resolved", "wang", "传感器被水草缠住，已清理")
    assert queued(world, alert_id) == ["alert.firing", "alert.resolved"]
    again = world.post(f"/api/v1/alerts/{alert_id}/resolve", note="again")
    assert again.status_code == 409


def test_resolving_by_hand_needs_a_note(world):
    alert_id = world.flood()
    for note in ("", "   "):
        answer = world.post(f"/api/v1/alerts/{alert_id}/resolve", note=note)
        assert answer.status_code == 422
    assert world.get(f"/api/v1/alerts/{alert_id}").json()["state"] == "firing"


def test_claiming_an_alert_assigns_it_to_the_caller_and_sends_nothing(world):
    alert_id = world.flood()
    answer = world.client.post(f"/api/v1/alerts/{alert_id}/assign", headers=world.as_("wang"))
    assert answer.status_code == 200, answer.text
    assert answer.json()["assignee"] == "wang"
    assert queued(world, alert_id) == ["alert.firing"]


def test_an_alert_can_be_assigned_to_someone_else_and_unassigned(world):
    alert_id = world.flood()
    world.post(f"/api/v1/alerts/{alert_id}/assign", assignee="陈电工")
    assert world.get(f"/api/v1/alerts/{alert_id}").json()["assignee"] == "陈电工"
    answer = world.post(f"/api/v1/alerts/{alert_id}/unassign")
    assert answer.json()["assignee"] is None
    assert timeline(world, alert_id)[1:] == [
        ("assigned", "wang", "陈电工"),
        ("unassigned", "wang", None),
    ]


def test_actions_on_an_unknown_alert_are_404(world):
    for action in ("ack", "unack", "assign", "unassign"):
        assert world.post(f"/api/v1/alerts/424242/{action}").status_code == 404
    assert world.post("/api/v1/alerts/424242/resolve", note="x").status_code == 404


# --- silences ----------------------------------------------------------------------------


def test_a_silence_is_made_by_the_callers_account_and_shows_on_the_alerts_it_mutes(world):
    made = world.post(
        "/api/v1/silences", matchers={"device": "g1"}, reason="北桥闸门检修", duration="2h"
    )
    assert made.status_code == 201, made.text
    silence = made.json()
    assert (silence["created_by"], silence["state"]) == ("wang", "active")
    assert silence["ends_ms"] - silence["starts_ms"] == 2 * 3_600_000
    alert_id = world.flood("g1")
    other_id = world.flood("g2")
    shown = {a["id"]: a for a in world.get("/api/v1/alerts").json()}
    assert (shown[alert_id]["silenced"], shown[alert_id]["silenced_by"]) == (True, [silence["id"]])
    assert shown[other_id]["silenced"] is False
    assert queued(world, alert_id) == []


def test_a_silence_without_a_matcher_is_refused(world):
    answer = world.post("/api/v1/silences", matchers={}, reason="all", duration="1h")
    assert answer.status_code == 422
    assert "matcher" in answer.json()["error"]


def test_a_silence_needs_an_end_in_the_future(world):
    body = {"matchers": {"village": "xiashan"}, "reason": "演练"}
    assert world.post("/api/v1/silences", **body).status_code == 422
    past = world.post("/api/v1/silences", **body, ends="2001-01-01T00:00:00Z")
    assert past.status_code == 422
    both = world.post("/api/v1/silences", **body, ends="2999-01-01T00:00:00Z", duration="1h")
    assert both.status_code == 422


def test_silences_are_for_operators_but_a_viewer_sees_that_an_alert_is_silenced(world):
    body = {"matchers": {"device": "g1"}, "reason": "演练", "duration": "1h"}
    assert world.post("/api/v1/silences", "li", **body).status_code == 403
    assert world.get("/api/v1/silences", "li").status_code == 403
    world.post("/api/v1/silences", **body)
    assert len(world.get("/api/v1/silences").json()) == 1
    alert_id = world.flood("g1")
    assert world.get(f"/api/v1/alerts/{alert_id}", "li").json()["silenced"] is True


def test_expiring_a_silence_records_who_ended_it(world):
    silence = world.post(
        "/api/v1/silences", matchers={"rule": "river_danger"}, reason="修", duration="1h"
    ).json()
    answer = world.post(f"/api/v1/silences/{silence['id']}/expire", "zhao")
    assert answer.status_code == 200, answer.text
    assert (answer.json()["state"], answer.json()["expired_by"]) == ("expired", "zhao")
    assert world.get("/api/v1/silences", state="active").json() == []
    assert world.post("/api/v1/silences/sil_nope/expire").status_code == 404


# --- channels ----------------------------------------------------------------------------


def test_a_channel_can_be_changed_in_part_and_keeps_its_secret(world):
    before = world.engine.webhook("wh_1")
    answer = world.client.patch(
        "/api/v1/webhooks/wh_1",
        json={"name": "村委会值班群", "enabled": False},
        headers=world.as_("zhao"),
    )
    assert answer.status_code == 200, answer.text
    assert (answer.json()["name"], answer.json()["enabled"]) == ("村委会值班群", False)
    after = world.engine.webhook("wh_1")
    assert (after.secret, after.url) == (before.secret, before.url)


def test_a_channel_can_be_replaced_whole(world):
    body = {"url": "http://127.0.0.1:9/other", "kind": "wecom", "name": "企业微信"}
    answer = world.client.put("/api/v1/webhooks/wh_1", json=body, headers=world.as_("zhao"))
    assert answer.status_code == 200, answer.text
    assert world.engine.webhook("wh_1").kind == "wecom"
    assert world.engine.webhook("wh_1").url == "http://127.0.0.1:9/other"


def test_a_channels_on_call_mentions_are_set_and_kept_through_the_api(world):
    on_call = [{"severities": ["critical"], "mobiles": ["13800000000"], "at_all": False}]
    answer = world.client.patch(
        "/api/v1/webhooks/wh_1", json={"mentions": on_call}, headers=world.as_("zhao")
    )
    assert answer.status_code == 200, answer.text
    (mention,) = world.engine.webhook("wh_1").mentions
    assert (mention.severities, mention.mobiles) == (("critical",), ("13800000000",))
    shown = world.get("/api/v1/webhooks/wh_1", "zhao").json()["mentions"]
    assert shown == [{**on_call[0], "user_ids": []}]


def test_a_mention_with_an_unknown_field_is_refused(world):
    answer = world.client.patch(
        "/api/v1/webhooks/wh_1", json={"mentions": [{"phones": ["1"]}]}, headers=world.as_("zhao")
    )
    assert answer.status_code == 422


def test_changing_a_channel_is_for_admins(world):
    answer = world.client.patch(
        "/api/v1/webhooks/wh_1", json={"name": "x"}, headers=world.as_("wang")
    )
    assert answer.status_code == 403


def test_only_a_failed_delivery_is_sent_again(world):
    alert_id = world.flood()
    (delivery,) = world.engine.store.deliveries(alert_id=alert_id)
    pending = world.post(f"/api/v1/deliveries/{delivery.id}/resend", "zhao")
    assert pending.status_code == 409
    claimed = world.engine.store.claim_due(now_ms() + 1000, 10)
    assert [d.id for d in claimed] == [delivery.id]
    world.engine.store.record_attempt(
        delivery.id, AttemptResult(False, 500, "busy"), now_ms(), None
    )
    again = world.post(f"/api/v1/deliveries/{delivery.id}/resend", "zhao")
    assert again.status_code == 200, again.text
    assert (again.json()["state"], again.json()["msg_id"]) == ("pending", delivery.msg_id)
    assert world.post("/api/v1/deliveries/424242/resend", "zhao").status_code == 404


def test_a_rule_read_back_can_be_put_again_unchanged(world):
    rule = {"name": "北桥水位", "severity": "major", "kind": "threshold", "sensor": "water_level"}
    rule["above"] = 2.8
    made = world.client.put("/api/v1/rules/north", json=rule, headers=world.as_("zhao"))
    assert made.status_code == 200, made.text
    shown = world.get("/api/v1/rules/north", "zhao").json()
    assert None not in shown.values()
    shown.pop("source")
    again = world.client.put(
        "/api/v1/rules/north", json={**shown, "enabled": False}, headers=world.as_("zhao")
    )
    assert again.status_code == 200, again.text
    assert again.json()["enabled"] is False
