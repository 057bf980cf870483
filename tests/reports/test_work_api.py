"""The work queue's API over real stores: what viewers read, what operators do, who is
recorded, and readable refusals."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from village_brain.alerts.engine import AlertEngine
from village_brain.api.app import create_app
from village_brain.api.context import ApiContext
from village_brain.auth.accounts import AccountStore
from village_brain.auth.gate import Gate
from village_brain.auth.roles import Role
from village_brain.core.bus import Bus
from village_brain.core.config import AuthSettings, load_settings
from village_brain.core.records import Reading
from village_brain.core.timefmt import now_ms
from village_brain.reports.intake import open_desk
from village_brain.reports.records import NewReport, Position
from village_brain.reports.work_stage import WorkStage
from village_brain.store.registry import BatchRecord

PASSWORD = "river-bank-7"
RULES = """
[[rule]]
id = "river_high"
name = "河水偏高"
severity = "major"
kind = "threshold"
sensor = "water_level"
above = 2.5
"""
PEOPLE = {"people": [{"id": "wang", "name": "王师傅", "department": "水务", "account": "wang"}]}


@pytest.fixture(scope="module")
def account_file(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    path = tmp_path_factory.mktemp("work-accounts") / "accounts.sqlite3"
    store = AccountStore(path)
    store.add("viewer", Role.VIEWER, PASSWORD, 0)
    store.add("wang", Role.OPERATOR, PASSWORD, 0)
    tokens = {name: store.add_token(name, 0) for name in ("viewer", "wang")}
    store.close()
    return path, tokens


class Api:
    def __init__(self, client: TestClient, tokens: dict[str, str], ctx: ApiContext) -> None:
        self.client = client
        self.tokens = tokens
        self.ctx = ctx

    def call(self, method: str, path: str, who: str = "wang", **kwargs):
        headers = {"Authorization": f"Bearer {self.tokens[who]}"}
        return self.client.request(method, f"/api/v1/work{path}", headers=headers, **kwargs)

    def submit(self, category: str = "water", **fields) -> int:
        new = NewReport(
            category=category,
            description="水渠堵了，水漫到路上",
            position=Position(lat=30.1, lon=120.2),
            name="余云梅",
            phone="13800000000",
            **fields,
        )
        assert self.ctx.work is not None
        _, item, token = self.ctx.work.queue.store.submit(new, now_ms())
        self.tokens[f"report-{item.id}"] = token  # the villager's private link
        return item.id


@pytest.fixture
def api(tmp_path, account_file, api_ctx) -> Iterator[Api]:
    rules = tmp_path / "rules.toml"
    rules.write_text(RULES, "utf-8")
    settings = load_settings(
        store={"data_dir": tmp_path},
        alerts={"rules_file": str(rules)},
        reports={"directory": PEOPLE},
    )
    ctx = api_ctx
    ctx.bus = Bus()
    alerts = AlertEngine(
        settings.alerts, ctx.catalog, ctx.registry, ctx.bus, tmp_path / "alerts.sqlite3"
    )
    desk = open_desk(settings)
    assert desk is not None
    shutil.copyfile(account_file[0], tmp_path / "accounts.sqlite3")
    accounts = AccountStore(tmp_path / "accounts.sqlite3")
    ctx.alerts = alerts
    ctx.reports = desk
    ctx.work = WorkStage(settings, desk.store, ctx.registry, ctx.bus, alerts)
    ctx.auth = Gate.for_service(accounts, AuthSettings(), demo=False)
    alerts.on_batch([Reading("xiashan", "g1", "water_level", now_ms(), 3.1)], BatchRecord())
    yield Api(TestClient(create_app(ctx)), dict(account_file[1]), ctx)
    alerts.stop()
    desk.store.close()
    accounts.close()


def test_the_queue_holds_reports_and_the_open_alerts_that_have_no_work_order(api):
    item_id = api.submit()
    body = api.call("GET", "", who="viewer").json()
    assert [i["id"] for i in body["items"]] == [item_id]
    assert body["items"][0]["report_number"].endswith("-0001")
    assert [a["rule_id"] for a in body["alerts"]] == ["river_high"]


def test_a_work_order_opened_from_an_alert_takes_the_alert_out_of_the_loose_ones(api):
    alert_id = api.call("GET", "").json()["alerts"][0]["id"]
    made = api.call("POST", f"/from-alert/{alert_id}")
    assert made.status_code == 201
    item = made.json()
    assert (item["source"], item["alert_id"], item["device"]) == ("alert", alert_id, "g1")
    assert (item["category"], item["priority"], item["department"]) == ("water", "high", "水务")
    assert api.call("GET", "").json()["alerts"] == []
    again = api.call("POST", f"/from-alert/{alert_id}")
    assert (again.status_code, again.json()["id"]) == (200, item["id"])


def test_a_claim_is_the_caller_s_account_whatever_the_body_says(api):
    item_id = api.submit()
    claimed = api.call("POST", f"/{item_id}/claim", json={"claimed_by": "someone-else"}).json()
    assert (claimed["claimed_by"], claimed["assignee"], claimed["status"]) == (
        "wang",
        "wang",
        "assigned",
    )
    entries = api.call("GET", f"/{item_id}").json()["entries"]
    assert entries[-1]["kind"] == "claimed" and entries[-1]["by"] == "wang"


def test_an_answer_reaches_the_villager_s_private_view_and_a_note_does_not(api):
    item_id = api.submit()
    api.call("POST", f"/{item_id}/assign", json={"department": "水务"})
    api.call("POST", f"/{item_id}/replies", json={"text": "明早派人疏通"})
    api.call("POST", f"/{item_id}/notes", json={"text": "村民很着急"})
    seen = api.ctx.reports.view(api.tokens[f"report-{item_id}"])
    assert (seen.status, [r.text for r in seen.replies]) == ("assigned", ["明早派人疏通"])


def test_a_viewer_reads_an_item_without_the_villager_s_name_and_phone(api):
    item_id = api.submit()
    as_viewer = api.call("GET", f"/{item_id}", who="viewer").json()["report"]
    as_staff = api.call("GET", f"/{item_id}").json()["report"]
    assert (as_viewer["name"], as_viewer["phone"]) == (None, None)
    assert (as_staff["name"], as_staff["phone"]) == ("余云梅", "13800000000")


def test_a_viewer_cannot_work_the_queue(api):
    item_id = api.submit()
    response = api.call("POST", f"/{item_id}/claim", who="viewer")
    assert response.status_code == 403


def test_a_move_the_status_machine_refuses_is_a_409_that_says_why(api):
    item_id = api.submit()
    response = api.call("POST", f"/{item_id}/start")
    assert response.status_code == 409
    assert "is new; from there it can go to" in response.json()["error"]


def test_closing_without_a_reason_is_refused(api):
    item_id = api.submit()
    api.call("POST", f"/{item_id}/claim")
    response = api.call("POST", f"/{item_id}/close", json={"status": "resolved", "reason": " "})
    assert response.status_code == 409
    assert "needs a reason" in response.json()["error"]


def test_a_full_round_new_to_resolved_leaves_a_timeline(api):
    item_id = api.submit()
    api.call("POST", f"/{item_id}/triage", json={"priority": "urgent"})
    api.call("POST", f"/{item_id}/assign", json={"person": "wang"})
    api.call("POST", f"/{item_id}/start")
    done = api.call("POST", f"/{item_id}/close", json={"status": "resolved", "reason": "已疏通"})
    assert done.json()["status"] == "resolved"
    kinds = [e["kind"] for e in api.call("GET", f"/{item_id}").json()["entries"]]
    assert kinds == ["status", "triaged", "assigned", "status", "status", "reply"]


def test_a_duplicate_points_to_the_first_report_which_lists_it(api):
    first, second = api.submit(), api.submit()
    answer = api.call("POST", f"/{first}/merge", json={"item_ids": [second]})
    assert answer.status_code == 200, answer.text
    merged = api.call("GET", f"/{second}").json()["item"]
    assert (merged["status"], merged["parent_id"]) == ("duplicate", first)
    children = api.call("GET", f"/{first}").json()["children"]
    assert [c["id"] for c in children] == [second]


def test_the_directory_lists_departments_people_and_categories(api):
    body = api.call("GET", "/directory", who="viewer").json()
    assert "水务" in [d["id"] for d in body["departments"]]
    assert body["people"] == [
        {"id": "wang", "name": "王师傅", "department": "水务", "account": "wang"}
    ]
    assert "lighting" in [c["code"] for c in body["categories"]]


def test_an_item_that_does_not_exist_is_a_404(api):
    assert api.call("GET", "/999").status_code == 404
