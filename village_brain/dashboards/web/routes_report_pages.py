"""The villagers' two pages: reporting a problem, and following it by the private link.

Their shell has no account, no navigation and no live feed: nothing a villager does not need,
and nothing heavier than the form on a slow connection.
"""

from __future__ import annotations

import json
from html import escape

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from village_brain.core.config import DashboardSettings
from village_brain.dashboards.web.pages import _template

router = APIRouter(include_in_schema=False)


@router.get("/report", response_class=HTMLResponse)
def report_page(request: Request) -> HTMLResponse:
    return _public_page(request, "report", "报告问题 · 村情通")


@router.get("/report/status", response_class=HTMLResponse)
def report_status_page(request: Request) -> HTMLResponse:
    # The token rides in the address's fragment (#...), which no request carries.
    return _public_page(request, "report_status", "处理进度 · 村情通")


def _public_page(request: Request, view: str, title: str) -> HTMLResponse:
    settings: DashboardSettings = request.app.state.dashboard_settings
    config = {"view": view, "timeZone": settings.time_zone, "language": settings.language}
    html = (
        _template("report_shell")
        .replace("{title}", escape(title))
        .replace("{config}", json.dumps(config, ensure_ascii=False).replace("</", "<\\/"))
        .replace("{view}", view)
        .replace("{main}", _template(view))
    )
    return HTMLResponse(
        html, headers={"Cache-Control": "no-cache", "Referrer-Policy": "no-referrer"}
    )
