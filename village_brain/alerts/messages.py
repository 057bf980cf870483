"""What people read: an alert change in words, in the configured language and time zone.

A message says which device and where, the sensor in words, the value with its unit, the
rule's condition, how long it has lasted and where to look. A resolution shows the value
that resolved it; an alert closed because its rule was disabled says so, and never that the
danger is over.
"""

from __future__ import annotations

import tomllib
from datetime import datetime
from functools import cache
from importlib import resources
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import msgspec

from village_brain.alerts.records import Alert, TimelineEntry
from village_brain.core.catalog import Catalog, SensorType
from village_brain.core.devices import Device
from village_brain.core.timefmt import parse_duration_ms

ZH, EN = 0, 1
SEVERITY = {
    "critical": ("紧急", "Critical"),
    "major": ("严重", "Major"),
    "minor": ("次要", "Minor"),
    "warning": ("警告", "Warning"),
    "info": ("提示", "Info"),
}
STATE = {
    "fired": ("告警", "Firing"),
    "reminded": ("仍在告警", "Still firing"),
    "acknowledged": ("已确认", "Acknowledged"),
    "resolved": ("已恢复", "Resolved"),
    "rule_gone": ("规则已停用", "Rule disabled"),
    "escalated": ("无人确认·升级", "Unacknowledged, escalated"),
}
# The engine's reason when it closes an alert whose rule was disabled or removed.
RULE_GONE_REASONS = ("the rule was removed or disabled",)


class Rendered(msgspec.Struct, frozen=True):
    title: str
    lines: tuple[str, ...]
    summary: str  # one line, for a message that carries several alerts


class Context(msgspec.Struct, frozen=True):
    language: str = "zh"
    time_zone: str = "Asia/Shanghai"
    dashboard_url: str = "http://127.0.0.1:8080"


@cache
def sensor_words() -> dict[str, tuple[str, str]]:
    text = resources.files("village_brain.alerts").joinpath("sensor_words.toml").read_text()
    return {k: (v[0], v[1]) for k, v in tomllib.loads(text).items()}


def sensor_name(sensor: str, catalog: Catalog, lang: int) -> str:
    words = sensor_words().get(sensor)
    if words:
        return words[lang]
    found = catalog.get(sensor)
    return found.quantity if found else sensor


def render(
    alert: Alert,
    entry: TimelineEntry,
    rule: Any,
    device: Device | None,
    catalog: Catalog,
    context: Context,
) -> Rendered:
    lang = EN if context.language == "en" else ZH
    state = _state(entry)
    severity = SEVERITY.get(alert.severity, (alert.severity, alert.severity))[lang]
    title = f"【{severity}·{STATE[state][lang]}】{alert.rule_name}"
    what = _what(alert, entry, rule, catalog, lang, state)
    lines = [what, _where(alert, device, lang)]
    condition = condition_text(rule, catalog, lang)
    if condition:
        lines.append(("条件：" if lang == ZH else "Condition: ") + condition)
    lines.append(_when(alert, entry, context, lang, state))
    if state == "rule_gone":
        lines.append(
            "规则已被停用或删除，告警随之关闭；这不代表险情已经解除，请到现场或仪表盘确认。"
            if lang == ZH
            else "The rule was disabled or removed, so the alert was closed; this does not "
            "mean the danger is over: check on site or on the dashboard."
        )
    if entry.kind == "acknowledged" and alert.acked_by:
        who = f"{alert.acked_by} {alert.ack_comment or ''}".rstrip()
        lines.append(("确认人：" if lang == ZH else "Acknowledged by: ") + who)
    link = f"{context.dashboard_url}/devices/{quote(alert.device, safe='')}"
    lines.append(("查看：" if lang == ZH else "Details: ") + link)
    return Rendered(title, tuple(lines), _summary(alert, device, lang, state, what))


def _summary(alert: Alert, device: Device | None, lang: int, state: str, what: str) -> str:
    name = device.name if device and device.name else alert.device
    place = device.place if device else ""
    if place:
        name += f"（{place}）" if lang == ZH else f" ({place})"
    said = "" if state == "fired" else f"[{STATE[state][lang]}] "
    return f"{said}{alert.rule_name}{'：' if lang == ZH else ': '}{name} {what}"


def _state(entry: TimelineEntry) -> str:
    if entry.kind == "resolved" and (entry.comment or "") in RULE_GONE_REASONS:
        return "rule_gone"
    return entry.kind


def _what(
    alert: Alert, entry: TimelineEntry, rule: Any, catalog: Catalog, lang: int, state: str
) -> str:
    if alert.kind == "no_data":
        offline = "offline" in (entry.comment or "") or "offline" in alert.message
        if state in ("resolved",):
            return "设备恢复上报" if lang == ZH else "The device reports again"
        if offline:
            return "设备报告离线" if lang == ZH else "The device reported itself offline"
        return "设备没有按时上报数据" if lang == ZH else "No data from the device"
    if alert.kind == "event":
        return (f"事件：{alert.subject}") if lang == ZH else f"Event: {alert.subject}"
    sensor = sensor_name(alert.subject, catalog, lang)
    value = entry.value if state in ("resolved", "rule_gone") else alert.value
    if state == "resolved":
        shown = value_text(value, catalog.get(alert.subject), lang)
        return (f"{sensor}恢复为 {shown}") if lang == ZH else f"{sensor} back at {shown}"
    if state == "rule_gone":
        shown = value_text(alert.value, catalog.get(alert.subject), lang)
        return (f"{sensor}最后读数 {shown}") if lang == ZH else f"{sensor} last read {shown}"
    shown = value_text(value, catalog.get(alert.subject), lang)
    return f"{sensor} {shown}"


def value_text(value: float | None, sensor: SensorType | None, lang: int) -> str:
    if value is None:
        return "—"
    if sensor is not None and sensor.kind == "boolean":
        if lang == ZH:
            return "是" if value >= 0.5 else "否"
        return "yes" if value >= 0.5 else "no"
    symbol = sensor.symbol if sensor else ""
    return f"{round(value, 3):g} {symbol}".rstrip()


def _where(alert: Alert, device: Device | None, lang: int) -> str:
    name = device.name if device and device.name else alert.device
    place = " · ".join(p for p in (alert.village, device.place if device else "") if p)
    label = "设备：" if lang == ZH else "Device: "
    shown = f"{name}（{place}）" if lang == ZH else f"{name} ({place})"
    return label + (shown if place else name)


def _when(alert: Alert, entry: TimelineEntry, context: Context, lang: int, state: str) -> str:
    started = local_time(alert.started_ms, context.time_zone)
    lasted = duration_text(max(0, entry.at_ms - alert.started_ms), lang)
    if state in ("resolved", "rule_gone"):
        ended = local_time(entry.at_ms, context.time_zone)
        if lang == ZH:
            return f"时间：{started} 至 {ended}（共 {lasted}）"
        return f"Time: {started} to {ended} ({lasted})"
    if entry.kind == "fired":
        return f"时间：{started}" if lang == ZH else f"Time: {started}"
    return f"开始：{started}（已持续 {lasted}）" if lang == ZH else f"Since {started} ({lasted})"


def local_time(ms: int, zone: str) -> str:
    return datetime.fromtimestamp(ms / 1000, ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M:%S")


def duration_text(ms: int, lang: int) -> str:
    seconds = ms // 1000
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    units = (("天", "d"), ("小时", "h"), ("分钟", "min"), ("秒", "s"))
    parts = [
        f"{n} {units[i][lang]}"
        for i, n in enumerate((days, hours, minutes, secs))
        if n and (i < 3 or not (days or hours))
    ]
    return " ".join(parts) if parts else ("不到 1 秒" if lang == ZH else "under 1 s")


def condition_text(rule: Any, catalog: Catalog, lang: int) -> str:
    """The rule's condition in words: 高于 3.2 m 持续 2 分钟, 10 分钟内上涨 0.2 m, ..."""
    if rule is None:
        return ""
    sensor = catalog.get(getattr(rule, "sensor", None) or "")
    unit = f" {sensor.symbol}" if sensor and sensor.symbol else ""
    zh = lang == ZH
    parts: list[str] = []
    above, below = getattr(rule, "above", None), getattr(rule, "below", None)
    if above is not None:
        parts.append(f"高于 {above:g}{unit}" if zh else f"above {above:g}{unit}")
    if below is not None:
        parts.append(f"低于 {below:g}{unit}" if zh else f"below {below:g}{unit}")
    rise, fall = getattr(rule, "rise", None), getattr(rule, "fall", None)
    within = _span(getattr(rule, "within", None), lang)
    if rise is not None:
        parts.append(f"{within}内上涨 {rise:g}{unit}" if zh else f"up {rise:g}{unit} in {within}")
    if fall is not None:
        parts.append(f"{within}内下降 {fall:g}{unit}" if zh else f"down {fall:g}{unit} in {within}")
    equals = getattr(rule, "equals", None)
    if equals is not None:
        parts.append(
            f"读数为{value_text(float(equals), sensor, lang)}"
            if zh
            else f"reads {value_text(float(equals), sensor, lang)}"
        )
    silent = getattr(rule, "silent_for", None)
    if getattr(rule, "kind", "") == "no_data":
        span = _span(silent, lang) if silent else ("数个上报周期" if zh else "several intervals")
        parts.append(f"超过 {span}没有数据" if zh else f"no data for {span}")
    held = getattr(rule, "for_", None)
    if held:
        parts.append(f"持续 {_span(held, lang)}" if zh else f"for {_span(held, lang)}")
    return (" " if zh else ", ").join(parts)


def _span(text: str | None, lang: int) -> str:
    if not text:
        return ""
    return duration_text(parse_duration_ms(text), lang)


def merged(rendered: list[Rendered], language: str) -> tuple[str, list[str]]:
    """One message for several alert changes: a title with the count, a line for each."""
    if len(rendered) == 1:
        return rendered[0].title, list(rendered[0].lines)
    count = len(rendered)
    first = rendered[0].title
    head = first.split("】", 1)[0] + "】"
    counted = f"{count} alert changes" if language == "en" else f"共 {count} 条告警变化"
    title = head + counted
    return title, [f"{i}. {r.summary}" for i, r in enumerate(rendered, 1)]
