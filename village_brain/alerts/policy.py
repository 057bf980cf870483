"""The notification policy: which channels hear of an alert change, when, and as what group.

It is read once from `[alerts.notify]` and decides, for each alert change, the outbox rows
to write (routes, group wait, quiet hours, escalation), and at send time which rows are kept
quiet (inhibition, escalations no longer needed). The dispatcher's rate limits merge what
it lets wait; nothing here drops a message a person should get.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import msgspec

from village_brain.alerts.messages import EN, ZH, duration_text
from village_brain.alerts.payloads import msg_id as message_id
from village_brain.alerts.records import Alert, Mention, Outgoing, TimelineEntry, Webhook
from village_brain.core.config import NotifySettings
from village_brain.core.timefmt import parse_duration_ms

log = logging.getLogger(__name__)
# Channel names a route gave that no webhook has, already logged (once per process).
_warned: set[str] = set()
CRITICAL = "critical"
# Highest first: an inhibiting alert must be more severe than the one it keeps quiet.
SEVERITY_RANK = {"critical": 0, "major": 1, "minor": 2, "warning": 3, "info": 4}
ESCALATION = "escalation"


class Route(msgspec.Struct, frozen=True):
    channels: tuple[str, ...]
    rules: tuple[str, ...] = ()
    severities: tuple[str, ...] = ()
    villages: tuple[str, ...] = ()
    more: bool = False  # `continue`: the routes below are tried too
    escalate_after_ms: int | None = None
    escalate_to: tuple[str, ...] = ()

    def matches(self, alert: Alert) -> bool:
        return self.covers(alert.rule_id, alert.severity, alert.village)

    def covers(self, rule_id: str, severity: str, village: str) -> bool:
        return (
            (not self.rules or rule_id in self.rules)
            and (not self.severities or severity in self.severities)
            and (not self.villages or village in self.villages)
        )


class Inhibit(msgspec.Struct, frozen=True):
    source: tuple[str, ...]
    target: tuple[str, ...]


class Policy(msgspec.Struct, frozen=True):
    language: str = "zh"
    time_zone: str = "Asia/Shanghai"
    group_wait_ms: int = 5_000
    quiet_hours: tuple[int, int] | None = None  # minutes after local midnight: start, end
    quiet_severities: tuple[str, ...] = ("minor", "warning", "info")
    rate_per_minute: dict[str, int] = {}
    routes: tuple[Route, ...] = ()
    inhibit: tuple[Inhibit, ...] = (Inhibit(("critical",), ("major", "minor", "warning", "info")),)
    mentions: tuple[tuple[str, Mention], ...] = ()  # (webhook id or name, whom)

    @classmethod
    def from_settings(cls, settings: NotifySettings) -> Policy:
        return cls(
            language=settings.language,
            time_zone=settings.time_zone,
            group_wait_ms=_ms_or_zero(settings.group_wait),
            quiet_hours=_window(settings.quiet_hours) if settings.quiet_hours else None,
            quiet_severities=tuple(settings.quiet_severities),
            rate_per_minute=dict(settings.rate_per_minute),
            routes=tuple(
                Route(
                    tuple(r.channels),
                    tuple(r.rules),
                    tuple(r.severities),
                    tuple(r.villages),
                    r.continue_,
                    parse_duration_ms(r.escalate_after) if r.escalate_after else None,
                    tuple(r.escalate_to),
                )
                for r in settings.routes
            ),
            inhibit=tuple(Inhibit(tuple(i.source), tuple(i.target)) for i in settings.inhibit),
            mentions=tuple(
                (
                    m.channel,
                    Mention(tuple(m.severities), tuple(m.mobiles), tuple(m.user_ids), m.at_all),
                )
                for m in settings.mentions
            ),
        )

    # --- where and when ------------------------------------------------------------------

    def outgoing(
        self,
        alert: Alert,
        entry: TimelineEntry,
        body: dict[str, Any],
        webhooks: Iterable[Webhook],
    ) -> list[Outgoing]:
        """The outbox rows for one alert change: one per channel that should hear of it,
        and for a firing on an escalating route, one per escalation channel, due later."""
        hooks = list(webhooks)
        event_type = body["type"]
        msg_id = message_id(entry)
        due = self.due_ms(alert.severity, entry.at_ms)
        group = f"{alert.rule_id}|{alert.village}|{event_type}"
        text = msgspec.json.encode(body).decode()
        out = [
            Outgoing(w.id, msg_id, event_type, text, f"{msg_id}.{w.id}", group, due)
            for w in self._channels(alert, hooks)
            if w.wants(event_type, alert.severity, alert.village)
        ]
        if entry.kind == "fired":
            out += self._escalations(alert, entry, body, hooks, msg_id)
        return out

    def _channels(self, alert: Alert, hooks: list[Webhook]) -> list[Webhook]:
        return self.channels_for(alert.rule_id, alert.severity, alert.village, hooks)

    def channels_for(
        self,
        rule_id: str,
        severity: str,
        village: str,
        hooks: list[Webhook],
        escalating: bool = False,
    ) -> list[Webhook]:
        """The channels the routes send this to (every one, without routes); `escalating`
        adds each matching route's escalate_to channels."""
        if not self.routes:
            return hooks
        names: list[str] = []
        for route in self.routes:
            if route.covers(rule_id, severity, village):
                names += route.channels
                names += route.escalate_to if escalating else ()
                if not route.more:
                    break
        return _named(hooks, names)

    def _escalations(
        self,
        alert: Alert,
        entry: TimelineEntry,
        body: dict[str, Any],
        hooks: list[Webhook],
        msg_id: str,
    ) -> list[Outgoing]:
        out: list[Outgoing] = []
        for route in self.routes:
            if not route.matches(alert):
                continue
            if route.escalate_after_ms is not None and route.escalate_to:
                escalated = {**body, "data": self._escalated(body["data"], route)}
                text = msgspec.json.encode(escalated).decode()
                due = entry.at_ms + route.escalate_after_ms
                for w in _named(hooks, route.escalate_to):
                    key = f"{msg_id}.{w.id}.{ESCALATION}"
                    out.append(Outgoing(w.id, msg_id, body["type"], text, key, key, due))
            if not route.more:
                break
        return out

    def _escalated(self, data: dict[str, Any], route: Route) -> dict[str, Any]:
        after = duration_text(route.escalate_after_ms or 0, EN if self.language == "en" else ZH)
        if self.language == "en":
            prefix, note = "[Escalated] ", f"Nobody acknowledged this alert in {after}."
        else:
            prefix, note = "【升级】", f"告警 {after}内无人确认，现升级通知。"
        title = prefix + str(data.get("title") or data.get("rule_name", ""))
        lines = [note, *data.get("lines", [])]
        return {**data, "escalated": True, "title": title, "lines": lines}

    def due_ms(self, severity: str, at_ms: int) -> int:
        """When a change of this severity goes out: critical at once; the others after the
        group wait, and after the quiet hours when they fall in them."""
        if severity == CRITICAL:
            return at_ms
        due = at_ms + self.group_wait_ms
        if self.quiet_hours is not None and severity in self.quiet_severities:
            due = max(due, self.quiet_end_ms(due))
        return due

    def quiet_end_ms(self, at_ms: int) -> int:
        """`at_ms` itself outside the quiet hours, else the end of the quiet hours it is in."""
        assert self.quiet_hours is not None
        start, end = self.quiet_hours
        local = datetime.fromtimestamp(at_ms / 1000, ZoneInfo(self.time_zone))
        minute = local.hour * 60 + local.minute
        inside = start <= minute < end if start < end else (minute >= start or minute < end)
        if not inside:
            return at_ms
        days = 1 if start > end and minute >= start else 0
        midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
        wake = midnight + timedelta(days=days, minutes=end)
        return int(wake.timestamp() * 1000)

    # --- at send time --------------------------------------------------------------------

    def inhibitor(self, data: dict[str, Any], open_alerts: Iterable[Alert]) -> Alert | None:
        """An open alert that keeps this one quiet: more severe, of a source severity, on the
        same device and sensor (or event)."""
        severity = data.get("severity", "")
        for rule in self.inhibit:
            if severity not in rule.target:
                continue
            for other in open_alerts:
                if (
                    other.id != data.get("id")
                    and other.severity in rule.source
                    and other.state != "resolved"
                    and other.device == data.get("device")
                    and other.subject == data.get("subject")
                    and SEVERITY_RANK.get(other.severity, 9) < SEVERITY_RANK.get(severity, 9)
                ):
                    return other
        return None

    def mentions_for(self, webhook: Webhook, severity: str) -> Mention:
        """Everyone the channel mentions for this severity: its own list and the settings'."""
        chosen = [m for m in webhook.mentions if m.applies(severity)]
        chosen += [
            m
            for channel, m in self.mentions
            if channel in (webhook.id, webhook.name) and m.applies(severity)
        ]
        return Mention(
            mobiles=_unique(x for m in chosen for x in m.mobiles),
            user_ids=_unique(x for m in chosen for x in m.user_ids),
            at_all=any(m.at_all for m in chosen),
        )


def _ms_or_zero(text: str) -> int:
    return 0 if text.strip() in ("0", "0s") else parse_duration_ms(text)


def _named(hooks: list[Webhook], names: Iterable[str]) -> list[Webhook]:
    wanted = list(names)
    found = [w for w in hooks if w.id in wanted or (w.name and w.name in wanted)]
    known = {w.id for w in found} | {w.name for w in found}
    for name in wanted:
        if name not in known and name not in _warned:
            # A route to nowhere is a typo nobody would notice until the flood: say so once.
            _warned.add(name)
            log.warning("a notification route names channel %r, which no webhook has", name)
    return found


def _unique(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


def _window(text: str) -> tuple[int, int]:
    start, end = text.split("-")
    return _minutes(start), _minutes(end)


def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)
