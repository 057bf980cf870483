"""Typed records of control: what is asked, who asked, and what became of it."""

from __future__ import annotations

from typing import Literal

import msgspec

State = Literal["queued", "sent", "accepted", "done", "failed", "expired", "timed_out"]
FINAL: frozenset[str] = frozenset({"done", "failed", "expired", "timed_out"})
# A state is only ever left for a later one: an answer that comes twice, or late, changes
# nothing (PROTOCOL §14, repeats).
_RANK = {"queued": 0, "sent": 1, "accepted": 2}
CommandValue = str | float | None


def may_follow(current: str, new: str) -> bool:
    """Whether a command in `current` may move to `new`."""
    if current in FINAL:
        return False
    return new in FINAL or _RANK[new] > _RANK[current]


class Origin(msgspec.Struct, frozen=True):
    """Who sent a command, from where and why: the audit trail of each command."""

    by: str  # a user name, "schedule:<name>", "rule:<name>"
    where: str = ""  # the client address, or the component that sent it
    why: str = ""


class CommandRequest(msgspec.Struct, frozen=True):
    """What a caller asks for; `id` makes a repeat of the same request harmless."""

    device: str
    target: str  # a controllable sensor type, or a named action
    value: str | float | bool | None = None
    args: dict[str, object] = {}
    expires_in_ms: int | None = None  # None: the configured default
    id: str | None = None


class Step(msgspec.Struct, frozen=True):
    state: str
    at_ms: int
    detail: str = ""


class Command(msgspec.Struct, frozen=True):
    id: str
    village: str
    device: str
    target: str
    value: CommandValue  # in the form the device is sent: a word, a number, or none
    args: dict[str, object]
    state: str
    created_ms: int
    expires_ms: int
    origin: Origin
    steps: tuple[Step, ...] = ()
    new_state: dict[str, object] = {}  # what the device reported with `done`
    detail: str = ""  # why it failed, expired or timed out

    @property
    def final(self) -> bool:
        return self.state in FINAL


class CommandResult(msgspec.Struct, frozen=True):
    """A device's answer on `village/{village}/{device}/command/result`."""

    village: str
    device: str
    id: str
    status: Literal["accepted", "done", "failed"]
    at_ms: int
    state: dict[str, object] = {}
    reason: str = ""


class Refused(Exception):
    """A command that cannot be sent; `status` is the HTTP status that fits the reason."""

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.status = status
