"""Simulated actuators obeying commands (PROTOCOL.md §14) as real firmware does: `accepted`,
then `done` with the new state, a repeat of an id answered again without acting twice, an
expired command dropped; and now and then `failed`, or no answer at all."""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import msgspec

from village_brain.control.validate import ACTIONS
from village_brain.control.wire import CommandPayload, result_topic
from village_brain.core.catalog import Catalog

log = logging.getLogger(__name__)

_REMEMBERED_IDS = 64
Publish = Callable[[str, bytes], None]


@dataclass(frozen=True)
class Temper:
    """How often an actuator lets its operator down."""

    fail: float = 0.03  # answers failed (a stuck relay, a jammed valve)
    silent: float = 0.03  # takes the command and never answers


def controllable(catalog: Catalog, sensors: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(s for s in sensors if catalog.types[s].controllable)


class Obedience:
    """One device's command handling; `state` overrides what its instrument would report."""

    def __init__(
        self,
        village: str,
        device: str,
        catalog: Catalog,
        targets: tuple[str, ...],
        publish: Publish,
        rng: random.Random,
        temper: Temper | None = None,
        report: Callable[[dict[str, bool | float]], None] | None = None,
    ) -> None:
        self.report = report  # sends the new state as a reading, which closes the loop
        self.village, self.device = village, device
        self.catalog = catalog
        self.targets = targets
        self.publish = publish
        self.rng = rng
        self.temper = temper or Temper()
        self.state: dict[str, bool | float] = {}
        self._answered: OrderedDict[str, list[bytes]] = OrderedDict()
        self._lock = threading.Lock()

    def on_command(self, payload: bytes, response_topic: str | None = None) -> None:
        try:
            command = msgspec.json.decode(payload, type=CommandPayload)
        except (msgspec.DecodeError, msgspec.ValidationError):
            log.info("%s: ignored a command it cannot read", self.device)
            return
        if command.expires <= time.time() * 1000:
            return  # stale: the operator has stopped waiting for it
        reply_to = response_topic or command.reply_to or result_topic(self.village, self.device)
        acted = False
        with self._lock:
            answers = self._answered.get(command.id)
            if answers is None:
                acted = True
                answers = self._act(command)
                self._answered[command.id] = answers
                while len(self._answered) > _REMEMBERED_IDS:
                    self._answered.popitem(last=False)
        for answer in answers:
            self.publish(reply_to, answer)
        if acted and self.report is not None and command.target in self.state:
            self.report({command.target: self.state[command.target]})

    def _act(self, command: CommandPayload) -> list[bytes]:
        accepted = _answer(command.id, "accepted")
        if command.target not in self.targets and command.target not in ACTIONS:
            return [_answer(command.id, "failed", reason=f"no {command.target} here")]
        roll = self.rng.random()
        if roll < self.temper.silent:
            return []
        if roll < self.temper.silent + self.temper.fail:
            return [accepted, _answer(command.id, "failed", reason="the actuator did not move")]
        if command.target in ACTIONS:
            return [accepted, _answer(command.id, "done")]
        sensor = self.catalog.types[command.target]
        value: bool | float
        if sensor.kind == "boolean":
            value = str(command.value) == (sensor.command_values or sensor.true_words)[0]
        else:
            value = float(command.value or 0.0)
        self.state[command.target] = value
        return [accepted, _answer(command.id, "done", state={command.target: command.value})]


def _answer(command_id: str, status: str, **fields: object) -> bytes:
    return msgspec.json.encode({"id": command_id, "status": status, **fields})
