"""The queue's own clock: every few seconds it looks for work that came in (a villager's
report, from the phone page or Open311) and for work that is overdue.

New reports are announced on the bus (the queue page shows them without a reload), linked
to a device standing by when one fits, and told to the channels; overdue work is escalated,
once per due time. A look that fails is logged once and tried again at the next one.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence

from village_brain.core.devices import Device
from village_brain.core.timefmt import now_ms
from village_brain.reports.device_link import device_for_report
from village_brain.reports.notices import WorkNotices
from village_brain.reports.queue import WorkQueue
from village_brain.reports.records import WorkItem
from village_brain.reports.workflow import escalation_key, overdue

log = logging.getLogger(__name__)
OPEN = ("new", "assigned", "in_progress")
# At a start, reports of the last day not yet looked at are taken up.
LOOK_BACK_MS = 86_400_000


class WorkWatch:
    def __init__(
        self,
        queue: WorkQueue,
        notices: WorkNotices | None,
        devices: Callable[[], Iterable[Device]],
        alerting: Callable[[], Collection[str]],
        related_kinds: Mapping[str, Sequence[str]],
        link_within_m: float,
        every_s: float = 1.0,
        clock: Callable[[], int] = now_ms,
    ) -> None:
        self.queue = queue
        self.notices = notices
        self.devices = devices
        self.alerting = alerting
        self.related_kinds = related_kinds
        self.link_within_m = link_within_m
        self.every_s = every_s
        self.clock = clock
        self._since = clock() - LOOK_BACK_MS
        self._last_id = 0
        # Escalated in this process; the notices' keys remember it across restarts.
        self._escalated: set[str] = set()
        self._failing = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="work-watch", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.wait(self.every_s):
            try:
                self.look()
            except Exception:
                if not self._failing:
                    log.exception("looking at the work queue failed; will try again")
                    self._failing = True
                continue
            self._failing = False

    def look(self, now: int | None = None) -> None:
        now = self.clock() if now is None else now
        self.take_new(now)
        self.escalate(now)

    def take_new(self, now: int) -> list[WorkItem]:
        """Reports that came in since the last look (ids only grow)."""
        changed = self.queue.store.items(since_ms=self._since, source="report")
        fresh = [i for i in changed if i.id > self._last_id and i.status == "new"]
        # A little overlap, so an item written as we looked is seen the next time.
        self._since = now - 2_000
        for item in fresh:
            self._take(item, now)
            self._last_id = max(self._last_id, item.id)
        return fresh

    def _take(self, item: WorkItem, now: int) -> None:
        linked = self._link(item)
        if self.notices is not None:
            self.notices.new(linked, now)
        self.queue.announce("new", linked)

    def _link(self, item: WorkItem) -> WorkItem:
        if item.device or item.position is None:
            return item
        match = device_for_report(
            item.position,
            item.category,
            self.devices(),
            self.related_kinds,
            self.link_within_m,
            self.alerting(),
        )
        if match is None:
            return item
        why = f"{round(match.metres)} m" + ("; alerting" if match.alerting else "")
        return self.queue.link_device(item.id, match.device, why)

    def escalate(self, now: int) -> list[WorkItem]:
        """Open work past its due time, escalated once per due time."""
        done = []
        for item in self.queue.store.items(status=OPEN):
            key = escalation_key(item)
            if not overdue(item, now) or key in self._escalated:
                continue
            first = self.notices.overdue(item, now) if self.notices is not None else True
            self._escalated.add(key)
            if first:
                self.queue.escalated(item.id, now)
                done.append(item)
        return done
