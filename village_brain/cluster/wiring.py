"""Alert evaluation across workers, as service.py builds it when `[cluster] postgres_dsn`
is set: the engine's store in PostgreSQL, fenced by this worker's leases; the writer
publishing each committed batch to the evaluation partitions; the stage that owns them."""

from __future__ import annotations

import uuid

import psycopg

from village_brain.alerts.engine import AlertEngine
from village_brain.cluster.eval_queues import EvalPublisher, EvalTopology
from village_brain.cluster.leases import LeaseTable
from village_brain.cluster.ownership import Changes, Ownership
from village_brain.cluster.stage import EvalStage
from village_brain.core.config import ConfigError, Settings
from village_brain.ingest.amqp_receiver import AmqpReceiver
from village_brain.ingest.writer import BatchWriter


class Cluster:
    """One worker's part in the cluster: its leases, and (with alerts on) its eval stage."""

    def __init__(self, settings: Settings) -> None:
        cluster = settings.cluster
        assert cluster.postgres_dsn is not None
        self.settings = settings
        self.dsn = cluster.postgres_dsn.get_secret_value()
        self.partitions = cluster.partitions
        self.lease_seconds = cluster.lease_seconds
        # Unique per run: a worker restarted under the same client id is a new owner.
        self.owner = f"{settings.mqtt.client_id}.{uuid.uuid4().hex[:8]}"
        try:
            conn = psycopg.connect(self.dsn, autocommit=True)
        except psycopg.Error as exc:
            raise ConfigError(f"[cluster] postgres_dsn: cannot connect ({exc})") from None
        self.ownership = Ownership(
            LeaseTable(conn, self.partitions, self.lease_seconds), self.owner
        )
        amqp = settings.amqp
        self.topology = EvalTopology(amqp.queue_prefix, self.partitions)
        self.publisher = EvalPublisher(amqp.urls, self.topology, amqp.heartbeat, self.owner)
        self.stage: EvalStage | None = None

    def attach(self, writer: BatchWriter, engine: AlertEngine) -> None:
        """The eval queues feed the engine, not the writer's batches."""
        writer.before_ack.append(self.publisher)
        amqp = self.settings.amqp
        self.stage = EvalStage(
            engine,
            self.ownership,
            amqp.urls,
            self.topology,
            self.lease_seconds,
            prefetch=min(amqp.prefetch, 100),
            heartbeat=amqp.heartbeat,
            name=self.owner,
        )

    def share_ingest(self, receiver: AmqpReceiver) -> None:
        """Ingest queue q is consumed only while this worker holds partition
        q % `[cluster] partitions`, so N workers split the queues between them
        (single-active-consumer stays on in case two ever overlap)."""
        if self.stage is None:
            return  # no leases are taken without the eval stage: consume every queue

        queues, k = receiver.topology.partitions, self.partitions

        def follow(changes: Changes) -> None:
            receiver.stop_queues(ingest_queues(changes.lost, queues, k))
            receiver.start_queues(ingest_queues(changes.gained, queues, k))

        receiver.consume_only(set())
        self.stage.listeners.append(follow)

    def start(self) -> None:
        if self.stage is not None:
            self.stage.start()

    def stop(self) -> None:
        """After the writer drained: the stage stops and gives its leases up."""
        if self.stage is not None:
            self.stage.stop()
        self.publisher.close()
        self.ownership.leases.conn.close()

    def owned(self) -> list[int]:
        return self.ownership.owned()


def ingest_queues(partitions: list[int], queues: int, k: int) -> list[int]:
    """The ingest queues that follow these lease partitions: q with q % k among them."""
    held = set(partitions)
    return [q for q in range(queues) if q % k in held]


def open_cluster(settings: Settings) -> Cluster | None:
    """None for one process (no `[cluster] postgres_dsn`), or one worker on the MQTT input."""
    if settings.cluster.postgres_dsn is None:
        return None
    if settings.ingest.input != "amqp":
        return None  # one MQTT worker: service.py holds it to that (cluster/sole_worker.py)
    return Cluster(settings)
