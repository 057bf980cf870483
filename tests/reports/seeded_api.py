"""The seeded village in real stores behind the API: reports, the lamp alert and its device."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from seeded_reports import seed

from village_brain.alerts.engine import AlertEngine
from village_brain.alerts.records import NewAlert
from village_brain.api.context import ApiContext
from village_brain.auth.gate import Gate
from village_brain.auth.roles import Role
from village_brain.core.bus import Bus
from village_brain.core.catalog import default_catalog
from village_brain.core.config import AlertSettings, ReportSettings, Settings, SimilaritySettings
from village_brain.ingest.stats import IngestStats
from village_brain.reports.intake import ReportDesk
from village_brain.reports.records import NewReport
from village_brain.reports.store import ReportStore
from village_brain.reports.work_stage import WorkStage
from village_brain.store.registry import RegistryStore
from village_brain.store.sqlite_series import SqliteSeriesStore


@dataclass
class Seeded:
    ctx: ApiContext
    store: ReportStore
    ids: dict[str, int]  # label → work item id


@contextmanager
def seeded_context(
    data_dir: Path, shift_ms: int = 0, role: Role = Role.OPERATOR
) -> Iterator[Seeded]:
    """The seed's reports and alert, `shift_ms` later than the seed says."""
    s = seed()
    catalog = default_catalog()
    series = SqliteSeriesStore(data_dir / "series.sqlite3")
    registry = RegistryStore(data_dir / "registry.sqlite3")
    registry.upsert_devices(s.devices)
    bus = Bus()
    alerts = AlertEngine(AlertSettings(), catalog, registry, bus, data_dir / "alerts.sqlite3")
    store = ReportStore(data_dir / "reports.sqlite3")
    ids = {}
    for r in s.reports:
        new = NewReport(r.category, r.label, r.position, r.place)
        _, item, _ = store.submit(new, r.at_ms + shift_ms)
        ids[r.label] = item.id
    for a in s.alerts:
        new_alert = NewAlert("lamp-off", "lamp off", "major", "threshold", "xiashan", a.device,
                             a.subject, "lamp is off", a.at_ms + shift_ms)  # fmt: skip
        alerts.store.fire(new_alert, lambda _alert, _entry: [])
    stats = IngestStats()
    ctx = ApiContext(
        catalog, series, registry, lambda: stats.snapshot(0, True), bus=bus, alerts=alerts
    )
    ctx.auth = Gate.closed().letting_anyone(role)
    settings = Settings(reports=ReportSettings(similarity=SimilaritySettings(nearby_per_minute=5)))
    ctx.reports = ReportDesk(store, settings.reports)
    # Not started: its watch (new and overdue work) is not what these tests are about.
    ctx.work = WorkStage(settings, store, registry, bus, alerts)
    try:
        yield Seeded(ctx, store, ids)
    finally:
        alerts.stop()
        store.close()
        series.close()
        registry.close()
