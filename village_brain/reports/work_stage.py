"""The work queue as the service runs it: the queue itself, its clock (new and overdue
work), and what it reads from the rest of the service (devices, open alerts, channels)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from village_brain.core.bus import Bus
from village_brain.core.config import Settings
from village_brain.reports.directory import Directory
from village_brain.reports.notices import WorkNotices
from village_brain.reports.queue import WorkQueue
from village_brain.reports.store import ReportStore
from village_brain.reports.watch import WorkWatch
from village_brain.store.registry import RegistryStore

if TYPE_CHECKING:
    from village_brain.alerts.engine import AlertEngine


class WorkStage:
    def __init__(
        self,
        settings: Settings,
        store: ReportStore,
        registry: RegistryStore,
        bus: Bus,
        alerts: AlertEngine | None,
    ) -> None:
        reports = settings.reports
        self.settings = reports
        self.alerts = alerts
        self.registry = registry
        self.directory = Directory.from_settings(reports.directory)
        self.queue = WorkQueue(
            store,
            self.directory,
            bus,
            categories=[c.code for c in reports.categories],
            alert_categories=reports.queue.alert_categories,
            departments_of={c.code: c.department for c in reports.categories if c.department},
        )
        notices = None
        if alerts is not None:
            notices = WorkNotices(
                alerts.store,
                alerts.notify,
                alerts.webhooks,
                settings.alerts.dashboard_url,
                alerts.dispatcher.wake,
                alerts.notify.time_zone,
            )
        self.watch = WorkWatch(
            self.queue,
            notices,
            lambda: [row.device for row in registry.devices()],
            self._alerting,
            reports.queue.related_kinds,
            reports.queue.link_within_m,
            reports.queue.check_every,
        )

    def start(self) -> None:
        self.watch.start()

    def stop(self) -> None:
        self.watch.stop()

    def _alerting(self) -> set[str]:
        if self.alerts is None:
            return set()
        return {a.device for a in self.alerts.store.open_alerts() if a.device}
