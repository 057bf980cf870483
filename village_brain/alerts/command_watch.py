"""A safety command that fails raises its own alert, sent through the notification policy.

A command whose target the catalog marks dangerous (a siren, a sluice) that ends failed,
expired or timed out fires one alert per device and target; the next such command to it
that is done resolves it. Whoever sent the failed command (a person, a schedule, a rule's
action), a siren that did not sound is news for the village.
"""

from __future__ import annotations

from collections.abc import Callable

from village_brain.alerts.records import Alert, NewAlert
from village_brain.alerts.store import AlertStore, Deliveries
from village_brain.control.records import Command
from village_brain.core.catalog import Catalog

COMMAND_RULE = "command_failed"
COMMAND_KIND = "command"
_FAILED = {"failed": "执行失败", "expired": "超时未送达", "timed_out": "未回报完成"}


class CommandWatch:
    def __init__(self, store: AlertStore, catalog: Catalog) -> None:
        self.store = store
        self.catalog = catalog
        self.open: dict[tuple[str, str], Alert] = {
            (a.device, a.subject): a for a in store.open_alerts() if a.kind == COMMAND_KIND
        }

    def dangerous(self, command: Command) -> bool:
        sensor = self.catalog.get(command.target)
        return sensor is not None and sensor.dangerous

    def check(
        self,
        command: Command,
        now: int,
        deliveries: Deliveries,
        announce: Callable[[str, Alert], None],
    ) -> None:
        if not self.dangerous(command):
            return
        key = (command.device, command.target)
        alert = self.open.get(key)
        if alert is None and command.state in _FAILED:
            self.open[key] = self.store.fire(_new_alert(command, now), deliveries)
            announce("fired", self.open[key])
        elif alert is not None and command.state == "done":
            del self.open[key]
            reason = f"命令 {command.id} 已执行"
            announce("resolved", self.store.resolve(alert.id, now, None, reason, deliveries))

    def track(self, alert: Alert) -> None:
        """A person changed such an alert (acknowledged or resolved it)."""
        key = (alert.device, alert.subject)
        if alert.state == "resolved":
            self.open.pop(key, None)
        elif key in self.open:
            self.open[key] = alert


def _new_alert(command: Command, now: int) -> NewAlert:
    what = command.target if command.value is None else f"{command.target}={command.value}"
    outcome = _FAILED[command.state]
    detail = f"：{command.detail}" if command.detail else ""
    return NewAlert(
        COMMAND_RULE,
        f"安全命令{outcome}",
        "critical",
        COMMAND_KIND,
        command.village,
        command.device,
        command.target,
        f"安全命令{outcome}：{command.device} {what}（{command.origin.by}）{detail}",
        now,
    )
