"""Reads the sightings similarity and hotspots work on from the stores: the work items and
their reports, the alerts nobody has opened work for, and the devices they stand at."""

from __future__ import annotations

from collections.abc import Iterable

from village_brain.alerts.channel_watch import CHANNEL_KIND
from village_brain.alerts.command_watch import COMMAND_KIND
from village_brain.alerts.records import Alert
from village_brain.alerts.store import AlertStore
from village_brain.core.devices import Device
from village_brain.reports.records import WorkItem
from village_brain.reports.sightings import Sighting, from_item, gather
from village_brain.reports.store import ReportStore
from village_brain.store.registry import RegistryStore

# Past these an answer is cut: a village's weeks of reports are hundreds, not this many.
MAX_ITEMS = 50_000
MAX_ALERTS = 20_000


class SightingReads:
    def __init__(
        self, reports: ReportStore, registry: RegistryStore, alerts: AlertStore | None = None
    ) -> None:
        self.reports = reports
        self.registry = registry
        self.alerts = alerts

    def of_item(self, item: WorkItem) -> Sighting:
        report = self.reports.report(item.report_id) if item.report_id is not None else None
        return from_item(item, report, self._devices([item.device]))

    def between(self, start_ms: int, end_ms: int, with_alerts: bool = True) -> list[Sighting]:
        """Items and alerts made in [start_ms, end_ms]."""
        # An item changed before it was made is impossible, so `since` on changes is a superset.
        items = [
            i
            for i in self.reports.items(since_ms=start_ms, limit=MAX_ITEMS)
            if start_ms <= i.created_ms <= end_ms
        ]
        reports = {
            r.id: r
            for r in self.reports.reports(since_ms=start_ms, until_ms=end_ms, limit=MAX_ITEMS)
        }
        alerts = self._alerts(start_ms, end_ms) if with_alerts else []
        devices = self._devices([i.device for i in items] + [a.device for a in alerts])
        return gather(items, reports, alerts, devices)

    def _alerts(self, start_ms: int, end_ms: int) -> list[Alert]:
        if self.alerts is None:
            return []
        found = self.alerts.alerts(limit=MAX_ALERTS)
        # A failing channel or command is the server's own trouble, not a problem in the field.
        return [
            a
            for a in found
            if start_ms <= a.started_ms <= end_ms and a.kind not in (CHANNEL_KIND, COMMAND_KIND)
        ]

    def _devices(self, ids: Iterable[str]) -> dict[str, Device]:
        rows = (self.registry.device(i) for i in set(ids) if i)
        return {row.device.id: row.device for row in rows if row is not None}
