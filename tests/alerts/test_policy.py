"""The notification policy's decisions, as plain functions: when a change goes out, which
channels hear of it, who keeps whom quiet."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from village_brain.alerts.policy import Policy
from village_brain.alerts.records import Alert, Mention, TimelineEntry, Webhook
from village_brain.core.config import ConfigError, NotifySettings, load_settings

SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(hour: int, minute: int = 0, day: int = 15) -> int:
    return int(datetime(2027, 1, day, hour, minute, tzinfo=SHANGHAI).timestamp() * 1000)


def alert(
    severity: str = "major",
    village: str = "xiashan",
    rule: str = "river_warning",
    device: str = "gauge-1",
    id_: int = 1,
) -> Alert:
    return Alert(
        id_, rule, rule, severity, "threshold", village, device, "water_level", "firing", "",
        0, 0,
    )  # fmt: skip


def policy(**settings) -> Policy:
    return Policy.from_settings(NotifySettings(**settings))


def test_a_critical_change_goes_out_at_once_and_the_others_after_the_group_wait():
    quick = policy(group_wait="10s")
    assert quick.due_ms("critical", at(9)) == at(9)
    assert quick.due_ms("major", at(9)) == at(9) + 10_000


def test_quiet_hours_hold_a_minor_alert_until_morning_but_never_a_critical_one():
    night = policy(group_wait="0s", quiet_hours="22:00-07:00")
    assert night.due_ms("minor", at(23, 30)) == at(7, day=16)
    assert night.due_ms("minor", at(3)) == at(7)
    assert night.due_ms("minor", at(12)) == at(12)
    assert night.due_ms("major", at(23, 30)) == at(23, 30)  # not a quiet severity
    assert night.due_ms("critical", at(23, 30)) == at(23, 30)


def test_quiet_hours_cannot_be_set_to_hold_critical_alerts():
    with pytest.raises(ConfigError, match="critical alerts cannot be held back"):
        load_settings(alerts={"notify": {"quiet_severities": ["critical"]}})


def test_routes_pick_channels_by_name_or_id_first_match_wins_unless_continue():
    hooks = [Webhook(f"wh_{n}", "https://x", "dingtalk", "", 0, name) for n, name in
             enumerate(["村委会群", "书记", "全体"])]  # fmt: skip
    routed = policy(
        routes=[
            {"severities": ["critical"], "channels": ["书记"], "continue": True},
            {"villages": ["xiashan"], "channels": ["村委会群"]},
            {"channels": ["wh_2"]},
        ]
    )
    names = lambda a: [w.name for w in routed._channels(a, hooks)]  # noqa: E731
    assert names(alert("critical")) == ["村委会群", "书记"]
    assert names(alert("major")) == ["村委会群"]
    assert names(alert("major", village="shangshan")) == ["全体"]


def test_an_escalation_row_is_due_after_its_delay_with_a_key_of_its_own():
    hooks = [Webhook("wh_a", "https://x", "dingtalk", "", 0, "群"),
             Webhook("wh_b", "https://y", "dingtalk", "", 0, "书记")]  # fmt: skip
    route = {"channels": ["群"], "escalate_after": "15m", "escalate_to": ["书记"]}
    routed = policy(routes=[route])
    fired = TimelineEntry(5, 1, "fired", at(9))
    body = {"type": "alert.firing", "data": {"title": "【紧急·告警】水位", "lines": []}}
    rows = routed.outgoing(alert("critical"), fired, body, hooks)
    assert [(r.webhook_id, r.due_ms) for r in rows] == [("wh_a", at(9)), ("wh_b", at(9, 15))]
    assert len({r.key() for r in rows}) == 2
    assert rows[1].key().endswith("escalation")
    reminded = TimelineEntry(6, 1, "reminded", at(10))
    assert [r.webhook_id for r in routed.outgoing(alert("critical"), reminded, body, hooks)] == [
        "wh_a"
    ]


def test_danger_inhibits_a_warning_of_the_same_device_and_sensor_only():
    rules = policy()
    danger = alert("critical", rule="river_danger", id_=2)
    warning = {"id": 1, "severity": "major", "device": "gauge-1", "subject": "water_level"}
    assert rules.inhibitor(warning, [danger]) == danger
    assert rules.inhibitor({**warning, "device": "gauge-2"}, [danger]) is None
    assert rules.inhibitor({**warning, "subject": "battery_voltage"}, [danger]) is None
    assert rules.inhibitor({**warning, "severity": "critical"}, [danger]) is None


def test_mentions_of_the_channel_and_the_settings_add_up_for_a_severity():
    hook = Webhook("wh_1", "https://x", "dingtalk", "", 0, "群",
                   mentions=(Mention(("critical",), mobiles=("138",)),))  # fmt: skip
    rules = policy(mentions=[{"channel": "群", "mobiles": ["139"], "at_all": False}])
    assert rules.mentions_for(hook, "critical").mobiles == ("138", "139")
    assert rules.mentions_for(hook, "minor").mobiles == ("139",)


def test_a_route_to_a_channel_no_webhook_has_is_logged(caplog):
    routed = policy(routes=[{"channels": ["村委汇群"]}])  # a typo of 村委会群
    hooks = [Webhook("wh_1", "https://x", "dingtalk", "", 0, "村委会群")]
    assert routed._channels(alert(), hooks) == []
    assert "'村委汇群', which no webhook has" in caplog.text
