"""The running service: wires broker connection, pipeline, writer, stores and API together."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, cast

import msgspec
from pydantic import SecretStr

from village_brain.alerts.engine import AlertEngine
from village_brain.api.context import ApiContext
from village_brain.auth.commands import account_store
from village_brain.auth.demo import forget_demo_accounts
from village_brain.auth.gate import Gate
from village_brain.auth.setup import FirstAdminSetup
from village_brain.control.records import CommandResult
from village_brain.control.service import open_control
from village_brain.core.bus import Bus
from village_brain.core.catalog import Catalog, load_catalog
from village_brain.core.config import ConfigError, Settings
from village_brain.core.devices import Device
from village_brain.core.records import Reading
from village_brain.core.timefmt import now_ms, parse_duration_ms
from village_brain.ingest.amqp_topology import Topology
from village_brain.ingest.codecs import default_registry
from village_brain.ingest.flood import FloodGuard
from village_brain.ingest.http_post import HttpIngest
from village_brain.ingest.mqtt_client import MqttReceiver
from village_brain.ingest.pipeline import DeviceDirectory, Limits, Pipeline
from village_brain.ingest.retained import KEPT_KEYS, RetainedRefusals
from village_brain.ingest.sources.router import Sources, build_sources
from village_brain.ingest.stats import IngestStats, StatsSnapshot
from village_brain.ingest.topics import SUBSCRIPTIONS
from village_brain.ingest.validate import TimeWindow
from village_brain.ingest.writer import BatchWriter
from village_brain.preflight import load_devices
from village_brain.reports.intake import open_desk
from village_brain.reports.work_stage import WorkStage
from village_brain.store.base import SeriesStore
from village_brain.store.registry import BatchRecord, RegistryStore
from village_brain.store.registry_open import open_device_tokens, open_registry
from village_brain.store.sqlite_series import SqliteSeriesStore

if TYPE_CHECKING:
    # The county's drivers (psycopg, pika) are imported only where a setting asks for them:
    # together they were a third of a village server's memory.
    from village_brain.cluster.sole_worker import SoleWorker
    from village_brain.cluster.wiring import Cluster
    from village_brain.ingest.amqp_receiver import AmqpReceiver

log = logging.getLogger(__name__)

# A stop waits this long for the writer to commit and acknowledge what it already has.
DRAIN_TIMEOUT_S = 30


class Service:
    def __init__(self, settings: Settings, mqtt_url: str, mqtt_version: str = "5") -> None:
        self.settings = settings
        self.catalog = load_catalog(settings.store.catalog_file)
        self.series, self.registry = open_stores(settings.store.data_dir, settings)
        self.accounts = account_store(settings)
        if not settings.demo:
            forget_demo_accounts(self.accounts)
        # Without an admin, a one-time link (logged by `serve`) makes the first one.
        setup = None if settings.demo else FirstAdminSetup.if_needed(self.accounts)
        self.auth = Gate.for_service(self.accounts, settings.auth, settings.demo, setup=setup)
        self.registry.upsert_devices(load_devices(settings, self.catalog))
        self.directory = DeviceDirectory(
            {row.device.id: row.device.village for row in self.registry.devices()},
            auto_register=settings.ingest.registration == "auto",
        )
        self.stats = IngestStats()
        self._stall_after_s = parse_duration_ms(settings.ingest.stall_after) / 1000
        try:
            sources = build_sources(settings.ingest.sources, self.catalog)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        self.writer = BatchWriter(
            _pipeline(
                settings,
                self.catalog,
                self.directory,
                self.stats,
                sources,
                lambda results: self.control and self.control.on_results(results),
            ),
            self.series,
            self.registry,
            self.stats,
            ack=lambda messages: self.receiver.ack_all(messages),
            max_messages=settings.ingest.batch_max_messages,
            max_wait_s=parse_duration_ms(settings.ingest.batch_max_wait) / 1000,
            publish=lambda reply: self.receiver.publish(reply),
            subscribe=lambda topics: self.receiver.subscribe(topics),
            retained=RetainedRefusals(self.registry.retained_keys(KEPT_KEYS)),
        )
        self.receiver = _receiver(
            settings, mqtt_url, mqtt_version, self.writer, SUBSCRIPTIONS + sources.subscriptions()
        )
        self.device_tokens = open_device_tokens(settings)
        self.http_ingest = HttpIngest(
            post=self.writer.inbox.put,
            tokens=self.device_tokens,
            max_body_bytes=settings.ingest.max_payload_bytes,
            wait_s=parse_duration_ms(settings.ingest.http_wait) / 1000,
            webhook_sources=[s.name for s in sources if hasattr(s.adapter, "translate_event")],
        )
        self.bus = Bus()
        self.writer.listeners.append(self._announce)
        self.cluster = _open_cluster(settings)  # several workers (docs/scale.md)
        self.sole = _sole_worker(settings, self.cluster)
        self.alerts = _alert_engine(
            settings, self.catalog, self.registry, self.bus, self.series, self.cluster
        )
        self.control = open_control(
            settings, self.catalog, self.registry, self.receiver, self.bus, sources
        )
        if self.control is not None:
            self.writer.listeners.append(self.control.on_batch)
            if self.alerts is not None:
                self.alerts.use_control(self.control)  # rule actions (docs/alerts.md)
        if self.alerts is not None and self.cluster is not None:
            self.cluster.attach(self.writer, self.alerts)  # the eval queues feed the engine
            # A cluster's input is always RabbitMQ's: each worker its partitions' queues.
            self.cluster.share_ingest(cast("AmqpReceiver", self.receiver))
        elif self.alerts is not None:
            self.writer.listeners.append(self.alerts.on_committed)
        self.reports = open_desk(settings)
        self.work = (
            None
            if self.reports is None
            else WorkStage(settings, self.reports.store, self.registry, self.bus, self.alerts)
        )
        self.writer.every(3600, self._apply_retention)
        self.writer.every(60, self._log_rates)
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self.writer.run, args=(self._stop,), name="ingest-writer", daemon=True
        )

    def start(self) -> None:
        if self.alerts is not None:
            self.alerts.start()
        if self.cluster is not None:
            self.cluster.start()
        self._thread.start()
        self.receiver.start()
        if self.control is not None:
            self.control.start()
        if self.work is not None:
            self.work.start()

    def stop(self) -> None:
        if self._stop.is_set():
            return
        # The writer drains and acknowledges what it has before the connection closes.
        log.info("stopping ingest: committing what has arrived")
        self._stop.set()
        self._thread.join(timeout=DRAIN_TIMEOUT_S)
        if self._thread.is_alive():
            log.warning(
                "ingest did not drain in %d s; what it has not acknowledged comes again "
                "at the next start",
                DRAIN_TIMEOUT_S,
            )
        else:
            log.info("ingest drained: %d readings stored since start", self.stats.stored)
        if self.work is not None:
            self.work.stop()
        if self.cluster is not None:
            self.cluster.stop()
        if self.sole is not None:
            self.sole.close()
        if self.alerts is not None:
            self.alerts.stop()
        if self.control is not None:
            self.control.stop()
        self.receiver.stop()
        self.series.close()
        self.registry.close()
        self.device_tokens.close()
        self.accounts.close()
        if self.control is not None:
            self.control.store.close()
        if self.reports is not None:
            self.reports.store.close()
        log.info("stores closed")

    def register_devices(self, devices: Iterable[Device]) -> None:
        devices = list(devices)
        self.registry.upsert_devices(devices)
        for device in devices:
            self.directory.add(device.id, device.village)

    def remove_device(self, device_id: str) -> bool:
        """Decommission: the registry forgets the device and ingest stops admitting it (under
        auto-registration, a device still publishing is registered again, as new)."""
        removed = self.registry.remove_device(device_id)
        self.directory.remove(device_id)
        return removed

    def snapshot(self) -> StatsSnapshot:
        snap = self.stats.snapshot(
            self.writer.waiting(), self.receiver.connected.is_set(), self._stall_after_s
        )
        if self.alerts is not None:
            waiting = self.alerts.evaluating()
            snap = msgspec.structs.replace(snap, alert_batches_waiting=waiting)
        if self.cluster is not None:
            snap = msgspec.structs.replace(snap, partitions_owned=self.cluster.owned())
        if self.settings.ingest.input == "amqp":
            partitions = cast("AmqpReceiver", self.receiver).receiving_partitions()
            return msgspec.structs.replace(snap, partitions_receiving=partitions)
        return snap

    def api_context(self) -> ApiContext:
        return ApiContext(
            catalog=self.catalog,
            series=self.series,
            registry=self.registry,
            stats=self.snapshot,
            bus=self.bus,
            offline_after_intervals=self.settings.ingest.offline_after_intervals,
            alerts=self.alerts,
            auth=self.auth,
            http_ingest=self.http_ingest,
            device_tokens=self.device_tokens,
            register_devices=self.register_devices,
            remove_device=self.remove_device,
            control=self.control,
            reports=self.reports,
            work=self.work,
        )

    def _announce(self, readings: Sequence[Reading], record: BatchRecord) -> None:
        """Tell listeners (live dashboard, alerts) what this batch committed."""
        if readings and self.bus.listened("readings"):
            self.bus.publish("readings", {"readings": msgspec.to_builtins(readings)})
        if not (record.statuses and self.bus.listened("status")):
            return
        for device, (status, ms) in record.statuses.items():
            self.bus.publish("status", {"device": device, "status": status, "ts_ms": ms})

    def _apply_retention(self) -> None:
        now = now_ms()
        cutoff = now - parse_duration_ms(self.settings.store.retention)
        points = self.series.delete_before(cutoff)
        ingest = self.settings.ingest
        rejections = self.registry.prune_rejections(
            ingest.rejection_log_max, now - parse_duration_ms(ingest.rejection_log_keep)
        )
        if points or rejections:
            log.info("retention: deleted %d old points and %d old rejections", points, rejections)

    def _log_rates(self) -> None:
        snap = self.snapshot()
        reasons = ", ".join(f"{n} {reason}" for reason, n in snap.rejected_by_reason.items())
        log.info(
            "ingest: %.1f readings/s; %d stored, %d rejected%s; %d waiting",
            snap.readings_per_second,
            snap.readings_stored,
            snap.rejected_total,
            f" ({reasons})" if reasons else "",
            snap.pending_messages,
        )


def _receiver(
    settings: Settings,
    mqtt_url: str,
    mqtt_version: str,
    writer: BatchWriter,
    topic_filters: list[str],
) -> MqttReceiver | AmqpReceiver:
    """The input stage: the MQTT broker itself, or RabbitMQ's partition queues."""
    if settings.ingest.input == "amqp":
        from village_brain.ingest.amqp_receiver import AmqpReceiver

        amqp = settings.amqp
        return AmqpReceiver(
            amqp.urls,
            deliver=writer.inbox.put,
            topology=Topology(amqp.queue_prefix, amqp.partitions),
            topic_filters=topic_filters,
            prefetch=amqp.prefetch,
            heartbeat=amqp.heartbeat,
            consumer_tag=settings.mqtt.client_id,
        )
    return MqttReceiver(
        mqtt_url,
        deliver=writer.inbox.put,
        client_id=settings.mqtt.client_id,
        mqtt_version=mqtt_version,
        session_expiry_s=parse_duration_ms(settings.mqtt.session_expiry) // 1000,
        receive_maximum=settings.mqtt.receive_maximum,
        keepalive=settings.mqtt.keepalive,
        username=settings.mqtt.username,
        password=_secret(settings.mqtt.password),
        ca_file=settings.mqtt.ca_file,
        client_cert=settings.mqtt.client_cert,
        client_key=settings.mqtt.client_key,
        subscriptions=topic_filters,
    )


def open_stores(data_dir: Path, settings: Settings) -> tuple[SeriesStore, RegistryStore]:
    sync = settings.store.sqlite_synchronous
    registry = open_registry(settings)
    if settings.store.backend == "sqlite":
        return SqliteSeriesStore(data_dir / "series.sqlite3", sync), registry
    # Imported here so the embedded setup never loads the InfluxDB client.
    from village_brain.core.records import Rejection
    from village_brain.store.influx_open import open_influx_store
    from village_brain.store.registry import BatchRecord

    def dead_letter(rejections: list[Rejection]) -> None:
        registry.commit(BatchRecord(rejections=rejections))

    series = open_influx_store(settings.store.influxdb, data_dir, dead_letter)
    return series, registry


def _secret(value: SecretStr | None) -> str | None:
    return value.get_secret_value() if value is not None else None


def _sole_worker(settings: Settings, cluster: Cluster | None) -> SoleWorker | None:
    """The MQTT input on a shared database: one such worker at a time."""
    if cluster is not None or settings.cluster.postgres_dsn is None:
        return None
    from village_brain.cluster.sole_worker import SoleWorker

    return SoleWorker(settings.cluster.postgres_dsn.get_secret_value())


def _open_cluster(settings: Settings) -> Cluster | None:
    # Asked here too, before the import: a village server never loads psycopg and pika.
    if settings.cluster.postgres_dsn is None:
        return None
    from village_brain.cluster.wiring import open_cluster

    return open_cluster(settings)


def _alert_engine(
    settings: Settings,
    catalog: Catalog,
    registry: RegistryStore,
    bus: Bus,
    series: SeriesStore | None = None,
    cluster: Cluster | None = None,
) -> AlertEngine | None:
    if not settings.alerts.enabled:
        return None
    shared = {}
    if cluster is None and settings.cluster.postgres_dsn is not None:  # the one MQTT worker
        shared = {"postgres_dsn": settings.cluster.postgres_dsn.get_secret_value()}
    if cluster is not None:  # state in PostgreSQL, written under this worker's leases
        shared = {
            "postgres_dsn": cluster.dsn,
            "fence": cluster.ownership.fence_devices,
            "partitions": cluster.partitions,
        }
    return AlertEngine(
        settings.alerts,
        catalog,
        registry,
        bus,
        settings.store.data_dir / "alerts.sqlite3",
        settings.store.sqlite_synchronous,
        settings.ingest.offline_after_intervals,
        series=series,
        default_actions=settings.demo,  # the shipped river_danger sounds the demo's siren
        **shared,
    )


def _pipeline(
    settings: Settings,
    catalog: Catalog,
    directory: DeviceDirectory,
    stats: IngestStats,
    sources: Sources,
    on_results: Callable[[list[CommandResult]], None] | None = None,
) -> Pipeline:
    ingest = settings.ingest
    limits = Limits(
        max_payload_bytes=ingest.max_payload_bytes,
        max_readings_per_message=ingest.max_readings_per_message,
        window=TimeWindow(
            max_clock_skew_ms=parse_duration_ms(ingest.max_clock_skew),
            max_backfill_ms=parse_duration_ms(ingest.max_backfill),
        ),
    )
    flood = _flood_guard(settings, catalog, stats)
    return Pipeline(
        catalog, default_registry(catalog), directory, limits, flood, sources, on_results
    )


def _flood_guard(settings: Settings, catalog: Catalog, stats: IngestStats) -> FloodGuard | None:
    ingest = settings.ingest
    if ingest.flood_factor == 0:
        return None
    return FloodGuard(
        catalog,
        window_ms=parse_duration_ms(ingest.flood_window),
        factor=ingest.flood_factor,
        min_readings=ingest.flood_min_readings,
        on_throttle=stats.note_throttled,
    )
