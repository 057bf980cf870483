"""The API over real embedded stores in the test's own directory, with one registered gauge."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI

from village_brain.api.app import create_app
from village_brain.api.context import ApiContext
from village_brain.auth.gate import Gate
from village_brain.auth.roles import Role
from village_brain.core.catalog import default_catalog
from village_brain.core.devices import Device
from village_brain.ingest.stats import IngestStats
from village_brain.store.registry import RegistryStore
from village_brain.store.sqlite_series import SqliteSeriesStore


@pytest.fixture
def stores(tmp_path: Path) -> Iterator[tuple[SqliteSeriesStore, RegistryStore]]:
    series = SqliteSeriesStore(tmp_path / "series.sqlite3")
    registry = RegistryStore(tmp_path / "registry.sqlite3")
    yield series, registry
    series.close()
    registry.close()


@pytest.fixture
def app(stores: tuple[SqliteSeriesStore, RegistryStore]) -> FastAPI:
    series, registry = stores
    stats = IngestStats()
    ctx = ApiContext(default_catalog(), series, registry, lambda: stats.snapshot(0, True))
    # Who may call is tests/auth's subject; here anyone is let in.
    ctx.auth = Gate.closed().letting_anyone(Role.ADMIN)
    registry.upsert_devices(
        [
            Device(
                id="g1",
                village="xiashan",
                kind="river_gauge",
                place="北桥河岸",
                lat=30.1,
                lon=120.2,
                sensors=("water_level",),
            )
        ]
    )
    return create_app(ctx)
