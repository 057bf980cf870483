"""The first-admin page, opened from the one-time link the server logs while it has no admin."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from village_brain.dashboards.web.pages import _page

router = APIRouter(include_in_schema=False)


@router.get("/setup", response_class=HTMLResponse)
def setup_page(request: Request) -> HTMLResponse:
    page = _page(request, "setup", "设置管理员 · 乡村大脑")
    # The link carries its secret: keep it out of the Referer of anything the page loads.
    page.headers["Referrer-Policy"] = "no-referrer"
    return page
