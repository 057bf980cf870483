"""Attach the dashboard: pages at `/`, assets at `/static`, the live feed under `/api`."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from village_brain.api.context import ApiContext
from village_brain.core.config import DashboardSettings
from village_brain.dashboards.web import (
    pages,
    routes_live,
    routes_overview,
    routes_report_pages,
    routes_setup,
)
from village_brain.dashboards.web.live import LiveHub

STATIC_DIR = Path(__file__).parent / "static"


def mount_dashboard(app: FastAPI, ctx: ApiContext, settings: DashboardSettings) -> LiveHub:
    hub = LiveHub()
    hub.attach(ctx.bus)
    app.state.live_hub = hub
    app.state.dashboard_settings = settings
    app.include_router(routes_live.router)
    app.include_router(routes_overview.router)
    app.include_router(pages.router)
    app.include_router(routes_setup.router)
    app.include_router(routes_report_pages.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="dashboard-static")
    return hub
