"""Messages for people: the device by name and place, the sensor in words, value and unit,
the rule's condition, local time and duration, in Chinese by default and in English."""

from __future__ import annotations

import re
from pathlib import Path

from village_brain.alerts.messages import Context, render, sensor_words
from village_brain.alerts.records import Alert, TimelineEntry
from village_brain.alerts.rules import Rule
from village_brain.core.catalog import default_catalog
from village_brain.core.devices import Device

CATALOG = default_catalog()
T0 = 1_800_000_000_000  # 2027-01-15 08:00:00 UTC, 16:00 in Shanghai
MIN = 60_000
RULE = Rule(
    "river_danger", "河道水位超危险线", "critical", "threshold", sensor="water_level",
    above=3.2, clear_below=3.1, for_="2m",
)  # fmt: skip
DEVICE = Device("gauge-1", "xiashan", name="石桥水位站", place="北桥")
ALERT = Alert(
    7, "river_danger", "河道水位超危险线", "critical", "threshold", "xiashan", "gauge-1",
    "water_level", "firing", "", T0, T0, value=3.25,
)  # fmt: skip
ZH = Context(dashboard_url="https://village.example")


def entry(kind: str, at_ms: int = T0, value: float | None = None, comment=None) -> TimelineEntry:
    return TimelineEntry(1, 7, kind, at_ms, value, None, comment)  # type: ignore[arg-type]


def text(rendered) -> str:
    return "\n".join([rendered.title, *rendered.lines])


def test_a_firing_says_what_where_which_condition_and_when_in_chinese():
    shown = text(render(ALERT, entry("fired"), RULE, DEVICE, CATALOG, ZH))
    assert shown.startswith("【紧急·告警】河道水位超危险线")
    assert "水位 3.25 m" in shown
    assert "石桥水位站（xiashan · 北桥）" in shown
    assert "高于 3.2 m 持续 2 分钟" in shown
    assert "2027-01-15 16:00:00" in shown  # Shanghai time, not UTC
    assert "https://village.example/devices/gauge-1" in shown


def test_a_resolution_shows_the_value_that_resolved_it_and_how_long_it_lasted():
    resolved = entry("resolved", T0 + 25 * MIN, value=3.05)
    shown = text(render(ALERT, resolved, RULE, DEVICE, CATALOG, ZH))
    assert "【紧急·已恢复】" in shown
    assert "水位恢复为 3.05 m" in shown
    assert "3.25" not in shown
    assert "共 25 分钟" in shown


def test_an_alert_closed_by_disabling_its_rule_says_so_and_not_that_it_is_over():
    closed = entry("resolved", T0 + MIN, comment="the rule was removed or disabled")
    shown = text(render(ALERT, closed, RULE, DEVICE, CATALOG, ZH))
    assert "已恢复" not in shown
    assert "【紧急·规则已停用】" in shown
    assert "不代表险情已经解除" in shown
    assert "最后读数 3.25 m" in shown


def test_a_reminder_says_how_long_it_has_been_firing():
    shown = text(render(ALERT, entry("reminded", T0 + 90 * MIN), RULE, DEVICE, CATALOG, ZH))
    assert "【紧急·仍在告警】" in shown
    assert "已持续 1 小时 30 分钟" in shown


def test_messages_are_in_english_when_configured():
    english = Context(language="en", time_zone="UTC", dashboard_url="https://v.example")
    shown = text(render(ALERT, entry("fired"), RULE, DEVICE, CATALOG, english))
    assert shown.startswith("[Critical") or shown.startswith("【Critical·Firing】")
    assert "Water level 3.25 m" in shown
    assert "above 3.2 m, for 2 min" in shown
    assert "2027-01-15 08:00:00" in shown


def test_a_boolean_sensor_reads_in_words():
    smoke_rule = Rule("smoke", "发现烟雾", "critical", "boolean", sensor="smoke", equals=True)
    smoke = Alert(
        8, "smoke", "发现烟雾", "critical", "boolean", "xiashan", "sd-1", "smoke", "firing",
        "", T0, T0, value=1.0,
    )  # fmt: skip
    shown = text(render(smoke, entry("fired"), smoke_rule, None, CATALOG, ZH))
    assert "烟雾 是" in shown
    assert "读数为是" in shown


def test_every_catalog_sensor_has_words_and_they_agree_with_the_dashboard():
    assert set(CATALOG.types) <= set(sensor_words())
    i18n = Path(__file__).parents[2] / "village_brain/dashboards/web/static/js/i18n.js"
    block = i18n.read_text("utf-8").split("const SENSORS = {", 1)[1].split("};", 1)[0]
    dashboard = dict(
        (m[0], (m[1], m[2])) for m in re.findall(r'(\w+): \["([^"]*)", "([^"]*)"\]', block)
    )
    assert dashboard
    assert {k: sensor_words()[k] for k in dashboard} == dashboard
