"""The HTML of the two views; their scripts fill in data and switch the language.

The markup carries Chinese text so the page reads right before (or without) JavaScript;
`data-i18n` keys let the scripts swap it for English.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from html import escape
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from village_brain.core.config import DashboardSettings

router = APIRouter(include_in_schema=False)
TEMPLATES = Path(__file__).parent / "templates"


# Pages whose markup does not depend on the address: path → (view, title).
STATIC_PAGES = {
    "/": ("overview", "乡村大脑 · 全村概览"),
    "/login": ("login", "登录 · 乡村大脑"),
    "/manage/devices": ("manage_devices", "设备管理 · 乡村大脑"),
    "/manage/users": ("manage_users", "用户与令牌 · 乡村大脑"),
    "/alerts/history": ("alert_history", "告警历史 · 乡村大脑"),
    "/manage/rules": ("manage_rules", "告警规则 · 乡村大脑"),
    "/manage/channels": ("manage_channels", "通知渠道 · 乡村大脑"),
    "/account": ("account", "我的账户 · 乡村大脑"),
    "/hotspots": ("hotspots", "问题热点 · 乡村大脑"),
    "/work": ("work", "工单队列 · 乡村大脑"),
}


def _static_page(view: str, title: str) -> Callable[[Request], HTMLResponse]:
    def page(request: Request) -> HTMLResponse:
        return _page(request, view, title)

    return page


for _path, (_view, _title) in STATIC_PAGES.items():
    router.add_api_route(
        _path, _static_page(_view, _title), methods=["GET"], response_class=HTMLResponse
    )


@router.get("/devices/{device}", response_class=HTMLResponse)
def device_page(request: Request, device: str) -> HTMLResponse:
    return _page(request, "device", f"{device} · 乡村大脑", device=device)


@cache
def _template(name: str) -> str:
    return (TEMPLATES / f"{name}.html").read_text("utf-8")


def _page(request: Request, view: str, title: str, device: str = "") -> HTMLResponse:
    settings: DashboardSettings = request.app.state.dashboard_settings
    config = {
        "view": view,
        "device": device,
        "timeZone": settings.time_zone,
        "language": settings.language,
        "tileUrl": settings.tile_url,
    }
    # "</" cannot appear inside the JSON, so a device id cannot end the script element.
    config_json = json.dumps(config, ensure_ascii=False).replace("</", "<\\/")
    main = _template(view).replace("{alerts}", _template("alerts"))
    html = (
        _template("shell")
        .replace("{title}", escape(title))
        .replace("{config}", config_json)
        .replace("{view}", view)
        .replace("{main}", main)
    )
    return HTMLResponse(html, headers={"Cache-Control": "no-cache"})
