"""The rules of the work queue, with no I/O: which status may follow which, what each move
needs, when work is due and when it is overdue.

new → assigned → in_progress → resolved | rejected | duplicate. An item can be rejected or
marked a duplicate straight from new (spam, the same pothole again); resolving needs someone
to have had it. A closed item can be reopened, back to new, with a reason.
"""

from __future__ import annotations

from collections.abc import Mapping

from village_brain.reports.records import CLOSED, Priority, WorkItem

HOUR_MS = 3_600_000
MAX_REASON = 2000
NEXT: Mapping[str, frozenset[str]] = {
    "new": frozenset({"assigned", "rejected", "duplicate"}),
    "assigned": frozenset({"assigned", "in_progress", "resolved", "rejected", "duplicate"}),
    "in_progress": frozenset({"assigned", "resolved", "rejected", "duplicate"}),
    "resolved": frozenset({"new"}),
    "rejected": frozenset({"new"}),
    "duplicate": frozenset({"new"}),
}
# Moves that need a reason the villager can read: the three ends, and a reopening.
NEEDS_REASON = frozenset({"resolved", "rejected", "duplicate", "new"})
PRIORITIES: tuple[Priority, ...] = ("low", "normal", "high", "urgent")
# How a work item weighs against alerts in the notification policy's routes and quiet hours.
SEVERITY_OF: Mapping[str, str] = {
    "urgent": "critical",
    "high": "major",
    "normal": "warning",
    "low": "info",
}
STATUS_WORDS: Mapping[str, tuple[str, str]] = {
    "new": ("新建", "new"),
    "assigned": ("已派单", "assigned"),
    "in_progress": ("处理中", "in progress"),
    "resolved": ("已解决", "resolved"),
    "rejected": ("不予处理", "rejected"),
    "duplicate": ("重复", "duplicate"),
}


class Refused(Exception):
    """A move the queue does not allow; the message says why, for people."""


def refusal(item: WorkItem, to: str, reason: str = "") -> str | None:
    """Why `item` cannot move to `to` (with `reason`), or None when it can."""
    if to not in NEXT:
        return f"{to!r} is not a status; use one of {', '.join(NEXT)}"
    if to not in NEXT[item.status]:
        allowed = ", ".join(sorted(NEXT[item.status])) or "nothing"
        return f"item {item.id} is {item.status}; from there it can go to {allowed}, not {to}"
    if to in NEEDS_REASON and not reason.strip():
        return f"say why: moving item {item.id} to {to} needs a reason the villager can read"
    if len(reason) > MAX_REASON:
        return f"the reason is {len(reason)} characters; at most {MAX_REASON}"
    return None


def check_move(item: WorkItem, to: str, reason: str = "") -> None:
    problem = refusal(item, to, reason)
    if problem is not None:
        raise Refused(problem)


def check_open(item: WorkItem, doing: str) -> None:
    if item.status in CLOSED:
        raise Refused(f"item {item.id} is {item.status}; reopen it before you {doing}")


def is_open(item: WorkItem) -> bool:
    return item.status not in CLOSED


def due_ms(created_ms: int, category: str, due_hours: Mapping[str, float]) -> int | None:
    """When work of this category is due, counted from when it came in; None: no due time."""
    hours = due_hours.get(category)
    if hours is None or hours <= 0:
        return None
    return created_ms + round(hours * HOUR_MS)


def overdue(item: WorkItem, now_ms: int) -> bool:
    return is_open(item) and item.due_ms is not None and item.due_ms <= now_ms


def escalation_key(item: WorkItem) -> str:
    """One escalation per item per due time: a new due time (a changed category) may
    escalate again, a restart may not."""
    return f"work{item.id}.overdue.{item.due_ms}"


def status_word(status: str, language: str) -> str:
    words = STATUS_WORDS.get(status, (status, status))
    return words[1] if language == "en" else words[0]


def is_status(value: str) -> bool:
    return value in NEXT
