"""The command API: who may command what, dangerous targets confirmed, the audit kept."""

import pytest
from control_kit import DEVICES, Clock, Wire, make_stage
from fastapi.testclient import TestClient

from village_brain.api.app import create_app
from village_brain.api.context import ApiContext
from village_brain.auth.accounts import AccountStore
from village_brain.auth.gate import Gate
from village_brain.auth.roles import Role
from village_brain.core.catalog import default_catalog
from village_brain.core.config import AuthSettings
from village_brain.core.devices import Device
from village_brain.ingest.stats import IngestStats
from village_brain.store.registry import RegistryStore
from village_brain.store.sqlite_series import SqliteSeriesStore

SIREN = Device("siren-1", "xiashan", kind="siren", sensors=("siren_state",))


@pytest.fixture
def api(tmp_path):
    registry = RegistryStore(tmp_path / "registry.sqlite3")
    series = SqliteSeriesStore(tmp_path / "series.sqlite3")
    accounts = AccountStore(tmp_path / "accounts.sqlite3")
    tokens = {}
    for role in Role:
        accounts.add(f"user-{role}", role, "river-bank-7", 0)
        tokens[role] = accounts.add_token(f"user-{role}", 0)
    stage = make_stage(tmp_path, Clock(), Wire())
    stage.find_device = {**DEVICES, "siren-1": SIREN}.get
    stats = IngestStats()
    ctx = ApiContext(default_catalog(), series, registry, lambda: stats.snapshot(0, True))
    ctx.auth = Gate.for_service(accounts, AuthSettings(), demo=False)
    ctx.control = stage
    client = TestClient(create_app(ctx))

    def post(role, device="lamp-1", **body):
        headers = {"Authorization": f"Bearer {tokens[role]}"}
        return client.post(f"/api/v1/devices/{device}/commands", json=body, headers=headers)

    def get(role, path):
        return client.get(path, headers={"Authorization": f"Bearer {tokens[role]}"})

    yield post, get, stage
    stage.store.close()
    accounts.close()
    series.close()
    registry.close()


def test_an_operator_sends_a_command_and_who_where_and_why_are_recorded(api):
    post, get, _ = api
    sent = post(Role.OPERATOR, target="lamp_state", value=True, reason="festival night")
    assert sent.status_code == 202, sent.text
    command = get(Role.VIEWER, f"/api/v1/commands/{sent.json()['id']}").json()
    assert (command["by"], command["from_where"], command["why"]) == (
        "user-operator",
        "testclient",
        "festival night",
    )
    assert command["value"] == "on" and command["state"] == "queued"
    listed = get(Role.VIEWER, "/api/v1/devices/lamp-1/commands").json()
    assert [c["id"] for c in listed] == [command["id"]]


def test_a_viewer_may_not_command(api):
    post, _, _ = api
    assert post(Role.VIEWER, target="lamp_state", value="on").status_code == 403


def test_a_repeated_id_answers_200_with_the_same_command(api):
    post, _, _ = api
    first = post(Role.OPERATOR, target="lamp_state", value="on", id="c-mine")
    again = post(Role.OPERATOR, target="lamp_state", value="on", id="c-mine")
    assert (first.status_code, again.status_code) == (202, 200)
    assert first.json()["id"] == again.json()["id"] == "c-mine"


def test_a_dangerous_target_needs_confirm(api):
    post, _, _ = api
    refused = post(Role.OPERATOR, device="siren-1", target="siren_state", value="on")
    assert refused.status_code == 422 and "dangerous" in refused.json()["error"]
    confirmed = post(
        Role.OPERATOR, device="siren-1", target="siren_state", value="on", confirm=True
    )
    assert confirmed.status_code == 202


def test_an_admin_setting_keeps_a_target_to_admins(api):
    post, _, stage = api
    stage.command_roles = {"siren_state": "admin"}
    body = {"device": "siren-1", "target": "siren_state", "value": "on", "confirm": True}
    assert post(Role.OPERATOR, **body).status_code == 403
    assert post(Role.ADMIN, **body).status_code == 202


def test_a_value_the_catalog_refuses_is_a_422_that_says_why(api):
    post, _, _ = api
    refused = post(Role.OPERATOR, target="lamp_state", value="dim")
    assert refused.status_code == 422 and "lamp_state expects" in refused.json()["error"]


def test_a_device_lists_what_it_may_be_commanded(api):
    _, get, _ = api
    controls = get(Role.VIEWER, "/api/v1/devices/siren-1/controls").json()
    siren = next(c for c in controls if c["target"] == "siren_state")
    assert siren["dangerous"] and siren["values"] == ["on", "off"]
    assert {c["target"] for c in controls} == {"siren_state", "identify", "reboot"}
