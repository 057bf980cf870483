"""HTTP ingest's device tokens on the shared PostgreSQL database: a token an api process
issues (its device page, or `device-tokens add` on any machine) is honoured by every worker
taking posts, and one revoked anywhere is refused everywhere."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from village_brain.api.app import create_app
from village_brain.api_process import ApiProcess
from village_brain.auth.accounts import AccountStore
from village_brain.auth.roles import Role
from village_brain.core.config import load_settings
from village_brain.core.devices import Device
from village_brain.store.device_tokens import DeviceTokenStore
from village_brain.store.registry_open import open_device_tokens

pytestmark = [pytest.mark.integration, pytest.mark.cluster]

T0 = 1_800_000_000_000


@pytest.fixture
def api_and_worker(postgres_dsn: str, tmp_path: Path) -> Iterator[tuple[DeviceTokenStore, ...]]:
    """Each with its own data directory, as on two machines."""
    pair = tuple(
        open_device_tokens(
            load_settings(
                None,
                store={"data_dir": str(tmp_path / name)},
                cluster={"postgres_dsn": postgres_dsn},
            )
        )
        for name in ("api", "worker")
    )
    yield pair
    for store in pair:
        store.close()


def test_a_token_issued_in_one_process_is_honoured_in_another(api_and_worker):
    api, worker = api_and_worker
    token_id, token = api.issue("device", "xiashan", "gauge-01", T0)

    grant = worker.check(token)

    assert grant is not None and (grant.id, grant.device) == (token_id, "gauge-01")


def test_a_token_revoked_in_one_process_is_refused_in_another(api_and_worker):
    api, worker = api_and_worker
    token_id, token = api.issue("gateway", "xiashan", None, T0)

    assert worker.revoke(token_id, T0 + 1)

    assert api.check(token) is None
    assert [t.id for t in api.tokens(include_revoked=True)] == [token_id]


def test_tokens_issued_side_by_side_get_distinct_ids(api_and_worker):
    api, worker = api_and_worker
    ids = {api.issue("device", "xiashan", f"d{i}", T0)[0] for i in range(3)}
    ids |= {worker.issue("device", "xiashan", f"e{i}", T0)[0] for i in range(3)}
    assert len(ids) == 6


def test_a_token_made_on_an_api_process_s_device_page_is_honoured_by_a_worker(
    postgres_dsn: str, tmp_path: Path
):
    settings = load_settings(
        None, store={"data_dir": str(tmp_path / "api")}, cluster={"postgres_dsn": postgres_dsn}
    )
    accounts = AccountStore(tmp_path / "unused.sqlite3", postgres_dsn=postgres_dsn)
    accounts.add("li", Role.ADMIN, "village-office-3", T0)
    bearer = {"Authorization": f"Bearer {accounts.add_token('li', T0)}"}
    accounts.close()
    process = ApiProcess(settings)
    process.registry.upsert_devices([Device("gauge-01", "xiashan")])
    worker = open_device_tokens(
        load_settings(
            None, store={"data_dir": str(tmp_path / "w")}, cluster={"postgres_dsn": postgres_dsn}
        )
    )
    try:
        with TestClient(create_app(process.api_context())) as client:
            made = client.post("/api/v1/device-admin/devices/gauge-01/tokens", headers=bearer)
        assert made.status_code == 201, made.text
        grant = worker.check(made.json()["token"])
        assert grant is not None and grant.device == "gauge-01"
    finally:
        worker.close()
        process.stop()
