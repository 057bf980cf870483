"""What the API reads from: handed over by the service, reached through a FastAPI dependency."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from fastapi import Request

from village_brain.auth.gate import Gate
from village_brain.core.bus import Bus
from village_brain.core.catalog import Catalog
from village_brain.core.devices import Device
from village_brain.ingest.stats import StatsSnapshot
from village_brain.store.base import SeriesStore
from village_brain.store.device_tokens import DeviceTokenStore
from village_brain.store.registry import RegistryStore

if TYPE_CHECKING:
    from village_brain.alerts.desk import AlertDesk
    from village_brain.alerts.engine import AlertEngine
    from village_brain.control.stage import ControlStage
    from village_brain.ingest.http_post import HttpIngest
    from village_brain.reports.intake import ReportDesk
    from village_brain.reports.work_stage import WorkStage


@dataclass
class ApiContext:
    catalog: Catalog
    series: SeriesStore
    registry: RegistryStore
    stats: Callable[[], StatsSnapshot]
    offline_after_intervals: float = 3.0
    bus: Bus = field(default_factory=Bus)
    alerts: AlertEngine | AlertDesk | None = None  # a desk: staff actions only (api role)
    auth: Gate = field(default_factory=Gate.closed)
    http_ingest: HttpIngest | None = None  # readings posted by devices, when taken
    device_tokens: DeviceTokenStore | None = None  # HTTP ingest's tokens, to issue and revoke
    # Registers devices with the running ingest too; without it only the registry learns.
    register_devices: Callable[[Iterable[Device]], None] | None = None
    remove_device: Callable[[str], object] | None = None
    control: ControlStage | None = None  # commands to devices, when enabled
    reports: ReportDesk | None = None  # villagers' reports and the work queue, when enabled
    work: WorkStage | None = None  # the duty staff's queue, with reports


def context(request: Request) -> ApiContext:
    return request.app.state.ctx
