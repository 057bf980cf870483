"""The HTTP API: FastAPI, OpenAPI at /docs, every error a JSON body with a readable message."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, FastAPI, Response

from village_brain import __version__
from village_brain.api import (
    routes_alerts,
    routes_auth,
    routes_commands,
    routes_device_ingest,
    routes_devices,
    routes_ingest,
    routes_users,
    routes_webhooks,
)
from village_brain.api.auth import caller
from village_brain.api.context import ApiContext
from village_brain.api.errors import install_error_handlers
from village_brain.api.schemas import Health
from village_brain.auth.gate import Principal
from village_brain.core.config import DashboardSettings
from village_brain.dashboards.web import mount_dashboard


def create_app(ctx: ApiContext, dashboard: DashboardSettings | None = None) -> FastAPI:
    app = FastAPI(
        title="Village Brain",
        version=__version__,
        description="Sensors, readings and ingest health of the villages this server watches.",
    )
    app.state.ctx = ctx
    app.include_router(routes_devices.router)
    app.include_router(routes_ingest.router)
    app.include_router(routes_device_ingest.router)
    app.include_router(routes_alerts.router)
    app.include_router(routes_webhooks.router)
    app.include_router(routes_auth.router)
    app.include_router(routes_users.router)
    app.include_router(routes_commands.router)
    install_error_handlers(app)

    @app.get(
        "/healthz",
        response_model=Health,
        response_model_exclude_none=True,
        tags=["health"],
        responses={503: {"model": Health, "description": "Ingest is stalled."}},
    )
    def healthz(who: Annotated[Principal | None, Depends(caller)], response: Response) -> Health:
        snap = ctx.stats()
        status = "stalled" if snap.stalled else "ok"
        if snap.stalled:
            response.status_code = 503
        if who is None:
            # Open to probes, but how ingest is doing is for those who may read.
            return Health(status=status)
        return Health(
            status=status,
            broker_connected=snap.broker_connected,
            pending_messages=snap.pending_messages,
            writer_restarts=snap.writer_restarts,
        )

    # Last, so the API routes above are matched before the dashboard's pages.
    mount_dashboard(app, ctx, dashboard or DashboardSettings())
    return app
