"""The alert desk: what staff see of alerts and do to them, in an api process.

An api process evaluates no rules and sends nothing: the ingest workers evaluate, and their
dispatchers send the outbox. The desk reads the shared alert store and writes people's
actions there (acknowledge, take back, assign, resolve by hand, silences, webhooks, API
rules), each in one transaction with its timeline entry and its outbox rows, which a
worker's dispatcher then claims. Staff writes are not evaluation writes: no partition fence.

It answers the routes the way the alert engine does (the same names), reading silences,
webhooks and rules from the store rather than keeping them, since other processes change
them too.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import msgspec

from village_brain.alerts.lifecycle_store import LifecycleStore
from village_brain.alerts.notices import outgoing
from village_brain.alerts.payloads import EVENT_TYPE, alert_fields
from village_brain.alerts.policy import Policy
from village_brain.alerts.records import Alert, Outgoing, TimelineEntry, Webhook
from village_brain.alerts.rule_book import known_devices, merged_rules, rule_source
from village_brain.alerts.rules import Known, Rule, RuleError, load_rules, parse_rule
from village_brain.alerts.silence_store import SilenceStore
from village_brain.alerts.silences import Matchers, Silence
from village_brain.alerts.silencing import Silencer
from village_brain.alerts.store import AlertStore
from village_brain.alerts.targets import check_target
from village_brain.core.bus import Bus
from village_brain.core.catalog import Catalog
from village_brain.core.config import AlertSettings, ConfigError
from village_brain.core.devices import Device
from village_brain.core.timefmt import now_ms
from village_brain.store.registry import RegistryStore

log = logging.getLogger(__name__)
# How long what was read of other processes' silences and devices is used before reading
# again: a silence made on another api process shows here within this.
FRESH_S = 1.0
DEVICE_CACHE_S = 60.0


class AlertDesk:
    def __init__(
        self,
        settings: AlertSettings,
        catalog: Catalog,
        registry: RegistryStore,
        bus: Bus,
        postgres_dsn: str,
        clock: Callable[[], int] = now_ms,
    ) -> None:
        self.settings = settings
        self.catalog = catalog
        self.registry = registry
        self.bus = bus
        self.clock = clock
        try:
            self.file_rules = {r.id: r for r in load_rules(settings.rules_file, catalog)}
        except RuleError as exc:
            raise ConfigError(str(exc)) from None
        self.store = AlertStore(None, postgres_dsn=postgres_dsn)
        self.notify = Policy.from_settings(settings.notify)
        self.lifecycle = LifecycleStore(self.store)
        self._silencer = Silencer(SilenceStore(self.store), self._place_of)
        self._silences_read = time.monotonic()
        self._devices: dict[str, Device | None] = {}
        self._devices_read = time.monotonic()
        self._lock = threading.Lock()

    def stop(self) -> None:
        self.store.close()

    def wake(self) -> None:
        """Nothing to wake here: the workers' dispatchers look at the outbox every second."""

    # --- reading -------------------------------------------------------------------------

    @property
    def silencer(self) -> Silencer:
        """The silences as the store has them, read again once they are a second old."""
        with self._lock:
            if time.monotonic() - self._silences_read >= FRESH_S:
                self._silencer.reload()
                self._silences_read = time.monotonic()
            return self._silencer

    def describe(self, alert: Alert) -> dict[str, Any]:
        return alert_fields(
            alert, self.catalog, self._device(alert.device), self.settings.dashboard_url
        )

    # --- people's actions ----------------------------------------------------------------

    def acknowledge(self, alert_id: int, by: str, comment: str) -> Alert:
        """Raises KeyError when there is no such alert, AlertConflict unless it is firing."""
        notices = self._notices_for(alert_id)
        alert = self.store.acknowledge(alert_id, by, comment, self.clock(), notices)
        return self._changed("acknowledged", alert)

    def unacknowledge(self, alert_id: int, by: str) -> Alert:
        alert = self.lifecycle.unacknowledge(alert_id, by, self.clock())
        return self._changed("unacknowledged", alert)

    def resolve_by_hand(self, alert_id: int, by: str, note: str) -> Alert:
        notices = self._notices_for(alert_id)
        alert = self.lifecycle.resolve(alert_id, by, note, self.clock(), notices)
        return self._changed("resolved", alert)

    def assign(self, alert_id: int, assignee: str | None, by: str) -> Alert:
        alert = self.lifecycle.assign(alert_id, assignee, by, self.clock())
        return self._changed("assigned", alert)

    def add_silence(
        self, matchers: Matchers, starts_ms: int, ends_ms: int, reason: str, by: str
    ) -> Silence:
        return self.silencer.add(matchers, starts_ms, ends_ms, reason, by, self.clock())

    def expire_silence(self, silence_id: str, by: str) -> Silence:
        """Raises KeyError when there is no such silence; the workers' timers notice the end."""
        return self.silencer.expire(silence_id, by, self.clock())

    def _changed(self, change: str, alert: Alert) -> Alert:
        self.bus.publish("alert", {"change": change, "alert": self.describe(alert)})
        return alert

    def _notices_for(self, alert_id: int) -> Callable[[Alert, TimelineEntry], list[Outgoing]]:
        """The outbox rows of a change, with everything read beforehand: nothing may be read
        inside the store's transaction."""
        known = self.store.alert(alert_id)
        if known is None:
            return lambda _alert, _entry: []
        device = self._device(known.device)
        rule = {r.id: r for r in self.rules()}.get(known.rule_id)
        hooks = self.webhooks()
        silencer = self.silencer

        def notices(alert: Alert, entry: TimelineEntry) -> list[Outgoing]:
            if entry.kind not in EVENT_TYPE or silencer.holds(alert, self.clock()):
                return []
            described = alert_fields(alert, self.catalog, device, self.settings.dashboard_url)
            return outgoing(
                self.notify,
                self.catalog,
                self.settings.dashboard_url,
                alert,
                entry,
                described,
                rule,
                device,
                hooks,
            )

        return notices

    # --- rules: in the store, evaluated by the workers (at their next start) -------------

    def rules(self) -> list[Rule]:
        return merged_rules(self.file_rules, self.store, self.catalog)

    def rule_source(self, rule_id: str) -> str:
        return rule_source(self.store, rule_id)

    def put_rule(self, raw: dict[str, Any]) -> Rule:
        known = None if raw.get("enabled", True) is False else self.known()
        rule = parse_rule(raw, self.catalog, known)
        self.store.put_rule(rule.id, msgspec.to_builtins(rule), self.clock())
        return rule

    def delete_rule(self, rule_id: str) -> bool:
        return self.store.delete_rule(rule_id)

    def known(self) -> Known:
        return known_devices(self.registry)

    # --- webhooks ------------------------------------------------------------------------

    def webhooks(self) -> list[Webhook]:
        return self.store.webhooks()

    def webhook(self, webhook_id: str) -> Webhook | None:
        return next((w for w in self.store.webhooks() if w.id == webhook_id), None)

    def add_webhook(self, webhook: Webhook) -> Webhook:
        """Raises TargetRefused when the URL points into a private network."""
        check_target(webhook.url, self.settings.allow_private_targets or webhook.allow_private)
        self.store.put_webhook(webhook)
        return webhook

    def delete_webhook(self, webhook_id: str) -> bool:
        return self.store.delete_webhook(webhook_id, self.clock())

    # --- devices -------------------------------------------------------------------------

    def _device(self, device_id: str) -> Device | None:
        with self._lock:
            if time.monotonic() - self._devices_read >= DEVICE_CACHE_S:
                self._devices = {}
                self._devices_read = time.monotonic()
            if device_id in self._devices:
                return self._devices[device_id]
        row = self.registry.device(device_id)
        found = row.device if row else None
        with self._lock:
            self._devices[device_id] = found
        return found

    def _place_of(self, device_id: str) -> str:
        device = self._device(device_id)
        return device.place if device else ""
