"""Rule actions: the commands an alert's transition sends, and their outcome on its timeline.

The engine calls `run` after a transition is committed (never inside the alert store's
transaction). Each command's id is made from the alert, the transition, the action and the
device, so running the same transition again (a restart, a retried write) sends nothing new:
the control stage keeps one command per id. The control stage announces each change of a
command on the bus; `heard` queues it and `drain` (on the alert timer) writes the step onto
the alert's timeline, once however often it is heard.
"""

from __future__ import annotations

import hashlib
import logging
import queue
import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from village_brain.alerts.records import Alert, Outgoing, TimelineEntry
from village_brain.alerts.rules import Rule, RuleAction
from village_brain.alerts.store import AlertStore
from village_brain.control.records import Command, CommandRequest, Origin, Refused
from village_brain.control.stage import ControlStage
from village_brain.control.validate import ACTIONS
from village_brain.core.devices import Device

log = logging.getLogger(__name__)

RULE_ORIGIN = "rule:"
WHERE = "alerts"
# ra-<alert id>-<transition>-<action index>-<digest of the alert's start and the device>
_ID = re.compile(r"^ra-(\d+)-(fired|resolved)-(\d+)-[0-9a-f]{12}$")
# Senders that are not people: their commands are no manual override.
_MACHINES = (RULE_ORIGIN, "schedule:")
_HISTORY = 200  # a device's latest commands looked at for overrides and cooldowns
_ENTRY = {"sent": "command_sent", "done": "command_done"}
_FAILED = ("failed", "expired", "timed_out")
_RECENT_ALERTS = 200  # caught up at start: their commands may have moved while we were down


def command_id(alert: Alert, on: str, index: int, device: str) -> str:
    # The start time guards against a data dir whose alert ids began again from 1.
    digest = hashlib.blake2b(f"{alert.started_ms}:{device}".encode(), digest_size=6)
    return f"ra-{alert.id}-{on}-{index}-{digest.hexdigest()}"


def alert_of(command: Command) -> int | None:
    """The alert a rule action's command was sent for; None for anyone else's command."""
    found = _ID.match(command.id)
    if found is None or not command.origin.by.startswith(RULE_ORIGIN):
        return None
    return int(found.group(1)) if command.origin.where == WHERE else None


def _nothing(_alert: Alert, _entry: TimelineEntry) -> list[Outgoing]:
    """A command's steps tell nobody by themselves: they are on the alert's timeline."""
    return []


class RuleActions:
    def __init__(
        self,
        store: AlertStore,
        control: ControlStage,
        devices: Callable[[], Iterable[Device]],
        device: Callable[[str], Device | None],
        clock: Callable[[], int],
    ) -> None:
        self.store = store
        self.control = control
        self.devices = devices
        self.device = device
        self.clock = clock
        self._heard: queue.SimpleQueue[str] = queue.SimpleQueue()

    # -- sending ------------------------------------------------------------------------

    def run(self, on: str, alert: Alert, rule: Rule, quiet_when_old: bool = False) -> None:
        """Send the actions of `rule` for the transition `on` ("fired", "resolved")."""
        now = self.clock()
        at_ms = alert.started_ms if on == "fired" else (alert.resolved_ms or now)
        for index, action in enumerate(rule.actions):
            if action.on != on:
                continue
            if now - at_ms >= action.expires_in_ms:
                # A replay of history, or a long outage: the command would arrive stale.
                if not quiet_when_old:
                    self._skipped(alert, action, "", now, "the alert is older than its expiry")
                continue
            targets = self._targets(action, alert)
            if not targets:
                self._skipped(alert, action, "", now, "no registered device matches")
            for device in targets:
                self._send(alert, rule, on, index, action, device, now)

    def _send(
        self,
        alert: Alert,
        rule: Rule,
        on: str,
        index: int,
        action: RuleAction,
        device: Device,
        now: int,
    ) -> None:
        command_id_ = command_id(alert, on, index, device.id)
        if self.control.get(command_id_) is not None:
            return  # this very transition was acted on already
        history = self.control.for_device(device.id, _HISTORY)
        held = _held(history, alert, rule, on, index, action, now)
        if held:
            self._skipped(alert, action, device.id, now, held)
            return
        request = CommandRequest(
            device=device.id,
            target=action.target,
            value=action.value,
            expires_in_ms=action.expires_in_ms,
            id=command_id_,
        )
        why = f"{rule.name}: alert {alert.id} {on}"
        try:
            self.control.send(request, by=Origin(f"{RULE_ORIGIN}{rule.id}", WHERE, why))
        except Refused as exc:
            text = f"{_what(device.id, action.target, action.value)} [{command_id_}]: {exc}"
            self._note(alert.id, "command_failed", now, text)
            log.warning("rule %s could not command %s: %s", rule.id, device.id, exc)

    def _targets(self, action: RuleAction, alert: Alert) -> list[Device]:
        if action.devices:
            found = [self.device(d) for d in action.devices]
            return [d for d in found if d is not None and _takes(d, action.target)]
        here = self.device(alert.device) if alert.device else None
        place = (here.place if here else None) if action.place == "same" else action.place
        if action.place == "same" and not place:
            return []
        return sorted(
            (
                d
                for d in self.devices()
                if d.village == alert.village
                and (action.device_kind is None or d.kind == action.device_kind)
                and (place is None or d.place == place)
                and _takes(d, action.target)
            ),
            key=lambda d: d.id,
        )

    def _skipped(self, alert: Alert, action: RuleAction, device: str, now: int, why: str) -> None:
        what = _what(device or "-", action.target, action.value)
        self._note(alert.id, "command_skipped", now, f"{what} ({action.on}): {why}")

    # -- following --------------------------------------------------------------------------

    def heard(self, kind: str, payload: dict[str, Any]) -> None:
        """Bus listener (on the announcer's thread): only queues the command's id."""
        if kind == "command" and isinstance(payload.get("id"), str):
            self._heard.put(payload["id"])

    def drain(self) -> list[Command]:
        """Put what was heard on the alerts' timelines; the commands heard, for whoever
        watches failures."""
        ids: list[str] = []
        while True:
            try:
                ids.append(self._heard.get_nowait())
            except queue.Empty:
                break
        commands = [c for c in map(self.control.get, dict.fromkeys(ids)) if c is not None]
        for command in commands:
            self.follow(command)
        return commands

    def follow(self, command: Command) -> None:
        """Each step of a rule action's command that its alert's timeline lacks, written."""
        alert_id = alert_of(command)
        if alert_id is None or self.store.alert(alert_id) is None:
            return
        what = f"{_what(command.device, command.target, command.value)} [{command.id}]"
        for step in command.steps:
            if step.state in _ENTRY:
                self._note(alert_id, _ENTRY[step.state], step.at_ms, what)
            elif step.state in _FAILED:
                detail = f"{step.state}: {step.detail}" if step.detail else step.state
                self._note(alert_id, "command_failed", step.at_ms, f"{what}: {detail}")

    def catch_up(self, rules: dict[str, Rule]) -> None:
        """After a start: the actions of open alerts that were not sent (a stop between the
        transition and its commands), and the steps their commands took meanwhile."""
        for alert in self.store.alerts(limit=_RECENT_ALERTS):
            rule = rules.get(alert.rule_id)
            if rule is not None and rule.actions:
                on = "fired" if alert.state != "resolved" else "resolved"
                self.run(on, alert, rule, quiet_when_old=True)
            for command in self.control.store.with_prefix(f"ra-{alert.id}-"):
                self.follow(command)

    def _note(self, alert_id: int, kind: str, at_ms: int, comment: str) -> None:
        """A timeline entry, unless the same one is there already (heard twice, a restart)."""
        if any(e.kind == kind and e.comment == comment for e in self.store.timeline(alert_id)):
            return
        with self.store.db.transaction() as conn:
            self.store._after(conn, alert_id, kind, at_ms, _nothing, comment=comment)


def _held(
    history: Sequence[Command],
    alert: Alert,
    rule: Rule,
    on: str,
    index: int,
    action: RuleAction,
    now: int,
) -> str | None:
    """Why this action must not be sent to the device now, if it must not."""
    for command in history:
        if command.target != action.target:
            continue
        by = command.origin.by
        if not by.startswith(_MACHINES) and command.created_ms >= alert.started_ms:
            # A person took this in hand since the alert fired: the rule does not fight them.
            return f"{by} commanded it by hand since the alert fired"
        found = _ID.match(command.id)
        if (
            action.cooldown_ms
            and by == f"{RULE_ORIGIN}{rule.id}"
            and found is not None
            and (found.group(2), int(found.group(3))) == (on, index)
            and now - command.created_ms < action.cooldown_ms
        ):
            return f"in its cooldown ({action.cooldown}) after the same action"
    return None


def _takes(device: Device, target: str) -> bool:
    return not device.sensors or target in device.sensors or target in ACTIONS


def _what(device: str, target: str, value: object) -> str:
    if isinstance(value, float):
        value = f"{value:g}"
    return f"{device} {target}" if value is None else f"{device} {target}={value}"
