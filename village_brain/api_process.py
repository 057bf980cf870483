"""`serve --role api`: the HTTP API and dashboard over what ingest workers stored.

No receiver, writer or alert evaluation runs here: devices and presence are read from the
shared registry, series from the shared series store, and the live feed arrives from the
workers through the shared database (cluster/live_feed.py). Alerts are read from the shared
alert store, and staff act on them there (alerts/desk.py); the workers evaluate and send.
Device registration through the API reaches the shared registry; workers admit a device
they have not loaded when auto-registration is on, or once restarted.
"""

from __future__ import annotations

import logging

from village_brain.alerts.desk import AlertDesk
from village_brain.api.context import ApiContext
from village_brain.auth.commands import account_store
from village_brain.auth.gate import Gate
from village_brain.auth.setup import FirstAdminSetup
from village_brain.core.bus import Bus
from village_brain.core.catalog import Catalog, load_catalog
from village_brain.core.config import Settings
from village_brain.ingest.stats import IngestStats, StatsSnapshot
from village_brain.service import open_stores
from village_brain.store.registry import RegistryStore
from village_brain.store.registry_open import open_device_tokens, shared_dsn

log = logging.getLogger(__name__)


class ApiProcess:
    """What `create_app` reads from, for an API process of its own."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.catalog = load_catalog(settings.store.catalog_file)
        self.series, self.registry = open_stores(settings.store.data_dir, settings)
        self.accounts = account_store(settings)
        self.device_tokens = open_device_tokens(settings)
        setup = FirstAdminSetup.if_needed(self.accounts)
        self.auth = Gate.for_service(self.accounts, settings.auth, False, setup=setup)
        self.bus = Bus()
        self.alerts = _alert_desk(settings, self.catalog, self.registry, self.bus)
        # Nothing is ingested here: health reports no broker and nothing pending.
        self._stats = IngestStats()

    def snapshot(self) -> StatsSnapshot:
        return self._stats.snapshot(0, False)

    def api_context(self) -> ApiContext:
        return ApiContext(
            catalog=self.catalog,
            series=self.series,
            registry=self.registry,
            stats=self.snapshot,
            bus=self.bus,
            offline_after_intervals=self.settings.ingest.offline_after_intervals,
            auth=self.auth,
            alerts=self.alerts,
            device_tokens=self.device_tokens,
        )

    def stop(self) -> None:
        if self.alerts is not None:
            self.alerts.stop()
        self.series.close()
        self.registry.close()
        self.accounts.close()
        self.device_tokens.close()
        log.info("stores closed")


def _alert_desk(
    settings: Settings, catalog: Catalog, registry: RegistryStore, bus: Bus
) -> AlertDesk | None:
    dsn = shared_dsn(settings)
    if not settings.alerts.enabled or dsn is None:
        return None
    return AlertDesk(settings.alerts, catalog, registry, bus, dsn)
