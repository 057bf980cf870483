"""Silences (maintenance windows): which alerts send no notifications, from when until when.

A silence names what it mutes with matchers (rule, device, village, place, sensor,
severity); an alert is muted while it is inside the window of a silence all of whose
matchers it meets. Alerts stay recorded and visible; only their messages are held back.
"""

from __future__ import annotations

from typing import Literal

import msgspec

from village_brain.alerts.records import Alert

MATCHER_FIELDS: tuple[str, ...] = ("rule", "device", "village", "place", "sensor", "severity")


class Matchers(msgspec.Struct, frozen=True, omit_defaults=True):
    """Each set matcher must equal the alert's value; unset ones match anything."""

    rule: str | None = None
    device: str | None = None
    village: str | None = None
    place: str | None = None
    sensor: str | None = None
    severity: str | None = None

    def any_set(self) -> bool:
        return any(getattr(self, name) is not None for name in MATCHER_FIELDS)

    def match(self, alert: Alert, place: str) -> bool:
        seen = {
            "rule": alert.rule_id,
            "device": alert.device,
            "village": alert.village,
            "place": place,
            "sensor": alert.subject,
            "severity": alert.severity,
        }
        return all(getattr(self, name) in (None, seen[name]) for name in MATCHER_FIELDS)


class Silence(msgspec.Struct, frozen=True):
    id: str
    matchers: Matchers
    starts_ms: int
    ends_ms: int
    reason: str
    created_by: str
    created_ms: int
    expired_by: str | None = None  # who ended it early, if anyone

    def state(self, now_ms: int) -> Literal["pending", "active", "expired"]:
        if now_ms < self.starts_ms:
            return "pending"
        return "active" if now_ms < self.ends_ms else "expired"

    def mutes(self, alert: Alert, place: str, now_ms: int) -> bool:
        return self.state(now_ms) == "active" and self.matchers.match(alert, place)


def muting(silences: list[Silence], alert: Alert, place: str, now_ms: int) -> list[str]:
    """The ids of the silences that mute `alert` now."""
    return [s.id for s in silences if s.mutes(alert, place, now_ms)]
