"""A report desk on a real store, an app around it, and photos made on the spot."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from report_kit import START_MS

from village_brain.api.app import create_app
from village_brain.api.context import ApiContext
from village_brain.core.catalog import default_catalog
from village_brain.core.config import ReportSettings
from village_brain.core.devices import Device
from village_brain.ingest.stats import IngestStats
from village_brain.reports.intake import ReportDesk
from village_brain.reports.store import ReportStore
from village_brain.serving import HttpServer
from village_brain.store.registry import RegistryStore
from village_brain.store.sqlite_series import SqliteSeriesStore


class Clock:
    def __init__(self) -> None:
        self.now = START_MS

    def __call__(self) -> int:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def report_settings() -> ReportSettings:
    return ReportSettings()


@pytest.fixture
def desk(tmp_path, report_settings, clock) -> Iterator[ReportDesk]:
    due = {c.code: c.due_hours for c in report_settings.categories if c.due_hours}
    store = ReportStore(tmp_path / "reports.sqlite3", due_hours=due)
    yield ReportDesk(store, report_settings, clock)
    store.close()


@pytest.fixture
def series(tmp_path) -> Iterator[SqliteSeriesStore]:
    store = SqliteSeriesStore(tmp_path / "series.sqlite3")
    yield store
    store.close()


@pytest.fixture
def registry(tmp_path) -> Iterator[RegistryStore]:
    """A river gauge and a street lamp of xiashan, where reports are made."""
    store = RegistryStore(tmp_path / "registry.sqlite3")
    store.upsert_devices(
        [
            Device(
                id="g1",
                village="xiashan",
                kind="river_gauge",
                sensors=("water_level",),
                lat=30.27,
                lon=120.15,
            ),
            Device(
                id="l1",
                village="xiashan",
                kind="street_lamp",
                sensors=("lamp_state",),
                lat=30.271,
                lon=120.152,
            ),
        ]
    )
    yield store
    store.close()


@pytest.fixture
def api_ctx(series, registry) -> ApiContext:
    """The API's context over these stores, with ingest figures that never move."""
    stats = IngestStats()
    return ApiContext(default_catalog(), series, registry, lambda: stats.snapshot(0, True))


@pytest.fixture
def app(desk, api_ctx) -> FastAPI:
    api_ctx.reports = desk
    return create_app(api_ctx)


@pytest.fixture
def client(app) -> TestClient:
    return TestClient(app)


@pytest.fixture
def root(app) -> Iterator[str]:
    """The app on a real HTTP server; the Open311 root address."""
    server = HttpServer(app, "127.0.0.1", 0)
    server.start()
    yield f"http://127.0.0.1:{server.port}/open311/v2"
    server.stop()
