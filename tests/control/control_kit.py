"""Shared pieces of the control suite: a stage on a real SQLite store with a fake clock."""

from __future__ import annotations

from pathlib import Path

from village_brain.control.records import CommandResult, Origin
from village_brain.control.stage import ControlStage, Timing
from village_brain.control.store import CommandStore
from village_brain.control.wire import OutgoingCommand
from village_brain.core.catalog import default_catalog
from village_brain.core.devices import Device

T0 = 1_795_939_200_000
OPERATOR = Origin(by="wang", where="127.0.0.1", why="testing the lamp")
DEVICES = {
    "lamp-1": Device("lamp-1", "xiashan", kind="street_lamp", sensors=("lamp_state",)),
    "valve-1": Device("valve-1", "xiashan", kind="valve", sensors=("valve_position",)),
}


class Clock:
    def __init__(self) -> None:
        self.ms = T0

    def __call__(self) -> int:
        return self.ms


class Wire:
    """Stands in for the broker connection: keeps what it was given, or refuses all."""

    def __init__(self) -> None:
        self.up = True
        self.sent: list[OutgoingCommand] = []

    def __call__(self, command: OutgoingCommand) -> bool:
        if self.up:
            self.sent.append(command)
        return self.up


def make_stage(path: Path, clock: Clock, wire: Wire) -> ControlStage:
    return ControlStage(
        CommandStore(path / "control.sqlite3"),
        default_catalog(),
        DEVICES.get,
        wire,
        Timing(default_expiry_ms=60_000, max_expiry_ms=3_600_000, done_timeout_ms=30_000),
        clock=clock,
    )


def answer(command_id: str, status: str, at_ms: int, device: str = "lamp-1", **kw) -> CommandResult:
    return CommandResult("xiashan", device, command_id, status, at_ms, **kw)  # type: ignore[arg-type]
