"""The evaluation partitions' queues in RabbitMQ, and the writer's publisher to them.

`{prefix}.eval.{p}` for p in 0..K-1, quorum queues with single-active-consumer (the lease
decides who evaluates a partition; single-active-consumer is a safety net should two
workers ever consume one at once). Declared idempotently by every worker, like the ingest
topology. Published to through the default exchange with publisher confirms: the writer
acknowledges a batch's ingest messages only after the broker confirmed its eval records.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import msgspec
import pika
from pika.adapters.blocking_connection import BlockingChannel

from village_brain.cluster.eval_records import EvalBatch, encode, split
from village_brain.core.records import Reading
from village_brain.ingest.amqp_topology import queue_arguments
from village_brain.store.registry import BatchRecord

log = logging.getLogger(__name__)


class EvalTopology(msgspec.Struct, frozen=True):
    prefix: str  # the ingest queue prefix: the eval queues sit beside its partitions
    partitions: int

    def queue(self, partition: int) -> str:
        return f"{self.prefix}.eval.{partition}"

    def declare(self, channel: BlockingChannel) -> None:
        for p in range(self.partitions):
            channel.queue_declare(self.queue(p), durable=True, arguments=queue_arguments())


def connect(url: str, heartbeat: int, name: str) -> pika.BlockingConnection:
    parameters = pika.URLParameters(url)
    parameters.heartbeat = heartbeat
    parameters.connection_attempts = 1
    parameters.socket_timeout = 5
    parameters.blocked_connection_timeout = 60
    parameters.client_properties = {"connection_name": name}
    return pika.BlockingConnection(parameters)


class EvalPublisher:
    """Publishes each committed batch's eval records, on the writer's thread only (pika's
    connection is not thread-safe). A failure raises: the writer then keeps the batch
    unacknowledged and tries it again, on the next node."""

    def __init__(self, urls: list[str], topology: EvalTopology, heartbeat: int, name: str) -> None:
        self.urls = list(urls)
        self.topology = topology
        self._heartbeat = heartbeat
        self._name = f"{name}.eval-publisher"
        self._attempt = 0
        self._connection: pika.BlockingConnection | None = None
        self._channel: BlockingChannel | None = None
        self.published = 0

    def __call__(self, readings: Sequence[Reading], record: BatchRecord) -> None:
        batches = split(readings, record, self.topology.partitions)
        if not batches:
            return
        properties = pika.BasicProperties(delivery_mode=2, content_type="application/msgpack")
        # A node lost since the last batch shows only now: the batch goes again on the next
        # node, once, rather than failing the writer. What went out before the loss is sent
        # again, which evaluation absorbs (an input evaluated twice changes nothing).
        try:
            self._publish(batches, properties)
        except pika.exceptions.AMQPConnectionError:
            log.warning("the eval publisher lost its node; publishing on the next one")
            self._publish(batches, properties)
        self.published += len(batches)

    def _publish(self, batches: list[EvalBatch], properties: pika.BasicProperties) -> None:
        channel = self._open()
        try:
            for batch in batches:
                # Confirmed one by one: BlockingChannel waits for each confirm, and raises
                # if the broker refuses (nacks) or cannot route the message.
                channel.basic_publish(
                    "",
                    self.topology.queue(batch.partition),
                    encode(batch),
                    properties,
                    mandatory=True,
                )
        except Exception:
            self.close()
            raise

    def _open(self) -> BlockingChannel:
        channel = self._channel
        if channel is not None and channel.is_open:
            return channel
        self.close()
        for _node in self.urls:  # each node once, starting after the last one tried
            url = self.urls[self._attempt % len(self.urls)]
            self._attempt += 1
            try:
                connection = connect(url, self._heartbeat, self._name)
            except pika.exceptions.AMQPConnectionError:
                continue
            channel = connection.channel()
            self.topology.declare(channel)
            channel.confirm_delivery()
            self._connection, self._channel = connection, channel
            return channel
        raise pika.exceptions.AMQPConnectionError("no RabbitMQ node in [amqp] urls answers")

    def close(self) -> None:
        connection, self._connection, self._channel = self._connection, None, None
        if connection is not None and connection.is_open:
            try:
                connection.close()
            except Exception:
                log.debug("closing the eval publisher's connection failed", exc_info=True)
