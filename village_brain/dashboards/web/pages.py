"""The HTML of the two views; their scripts fill in data and switch the language.

The markup carries Chinese text so the page reads right before (or without) JavaScript;
`data-i18n` keys let the scripts swap it for English.
"""

from __future__ import annotations

import json
from functools import cache
from html import escape
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from village_brain.core.config import DashboardSettings

router = APIRouter(include_in_schema=False)
TEMPLATES = Path(__file__).parent / "templates"


@router.get("/", response_class=HTMLResponse)
def overview(request: Request) -> HTMLResponse:
    return _page(request, "overview", "乡村大脑 · 全村概览")


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request) -> HTMLResponse:
    return _page(request, "login", "登录 · 乡村大脑")


@router.get("/devices/{device}", response_class=HTMLResponse)
def device_page(request: Request, device: str) -> HTMLResponse:
    return _page(request, "device", f"{device} · 乡村大脑", device=device)


@router.get("/manage/devices", response_class=HTMLResponse)
def manage_devices_page(request: Request) -> HTMLResponse:
    return _page(request, "manage_devices", "设备管理 · 乡村大脑")


@router.get("/manage/users", response_class=HTMLResponse)
def manage_users_page(request: Request) -> HTMLResponse:
    return _page(request, "manage_users", "用户与令牌 · 乡村大脑")


@router.get("/alerts/history", response_class=HTMLResponse)
def alert_history_page(request: Request) -> HTMLResponse:
    return _page(request, "alert_history", "告警历史 · 乡村大脑")


@router.get("/manage/rules", response_class=HTMLResponse)
def manage_rules_page(request: Request) -> HTMLResponse:
    return _page(request, "manage_rules", "告警规则 · 乡村大脑")


@router.get("/manage/channels", response_class=HTMLResponse)
def manage_channels_page(request: Request) -> HTMLResponse:
    return _page(request, "manage_channels", "通知渠道 · 乡村大脑")


@router.get("/account", response_class=HTMLResponse)
def account_page(request: Request) -> HTMLResponse:
    return _page(request, "account", "我的账户 · 乡村大脑")


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
