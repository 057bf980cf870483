"""The HTTP API: FastAPI, OpenAPI at /docs, every error a JSON body with a readable message."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, FastAPI, Response
from fastapi_offline import FastAPIOffline

from village_brain import __version__
from village_brain.api import (
    routes_account,
    routes_alerts,
    routes_auth,
    routes_commands,
    routes_device_admin,
    routes_device_ingest,
    routes_devices,
    routes_exports,
    routes_ingest,
    routes_open311,
    routes_reports_public,
    routes_rule_preview,
    routes_setup,
    routes_silences,
    routes_users,
    routes_webhooks,
    routes_work,
    routes_work_analysis,
)
from village_brain.api.auth import caller
from village_brain.api.context import ApiContext
from village_brain.api.docs_pages import DocsPolicy, add_redoc
from village_brain.api.errors import install_error_handlers
from village_brain.api.schemas import Health
from village_brain.auth.gate import Principal
from village_brain.core.config import DashboardSettings
from village_brain.dashboards.web import mount_dashboard


def create_app(ctx: ApiContext, dashboard: DashboardSettings | None = None) -> FastAPI:
    # /docs and /redoc from files shipped in fastapi-offline, so they work without internet.
    app = FastAPIOffline(
        redoc_url=None,
        title="Village Brain",
        version=__version__,
        description="Sensors, readings and ingest health of the villages this server watches.",
        # The validator badge would ask a site on the internet to check the document.
        swagger_ui_parameters={"validatorUrl": None},
    )
    add_redoc(app)
    app.add_middleware(DocsPolicy)
    app.state.ctx = ctx
    app.include_router(routes_devices.router)
    app.include_router(routes_ingest.router)
    app.include_router(routes_device_ingest.router)
    app.include_router(routes_rule_preview.router)
    app.include_router(routes_alerts.router)
    app.include_router(routes_webhooks.router)
    app.include_router(routes_silences.router)
    app.include_router(routes_auth.router)
    app.include_router(routes_setup.router)
    app.include_router(routes_users.router)
    app.include_router(routes_device_admin.router)
    app.include_router(routes_account.router)
    app.include_router(routes_exports.router)
    app.include_router(routes_commands.router)
    app.include_router(routes_reports_public.router)
    app.include_router(routes_open311.router)
    app.include_router(routes_work.router)
    routes_open311.install(app)
    app.include_router(routes_work_analysis.router)
    app.include_router(routes_work_analysis.public)
    install_error_handlers(app)
    _add_healthz(app, ctx)

    # Last, so the API routes above are matched before the dashboard's pages.
    mount_dashboard(app, ctx, dashboard or DashboardSettings())
    return app


def create_health_app(ctx: ApiContext) -> FastAPI:
    """Only /healthz: what `serve --role ingest` answers over HTTP (probes, partitions)."""
    app = FastAPI(
        title="Village Brain ingest worker",
        version=__version__,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.ctx = ctx
    install_error_handlers(app)
    _add_healthz(app, ctx)
    return app


def _add_healthz(app: FastAPI, ctx: ApiContext) -> None:
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
            alert_batches_waiting=snap.alert_batches_waiting,
            partitions_receiving=snap.partitions_receiving,
            partitions_owned=snap.partitions_owned,
        )
