"""The AMQP side of ingest: consume RabbitMQ partition queues, acknowledge after commit.

pika's BlockingConnection is not thread-safe, so one thread owns it: it connects, declares
the topology, consumes and hands each message on. The writer's acks, and replies to
devices, reach that thread through `add_callback_threadsafe`.

A delivery tag means something only on the channel that delivered it, so every message
carries the generation of its connection and acks for an older one are dropped: the broker
has put those messages back, another consumer (or we, after reconnecting) gets them again,
and the store's dedupe rule absorbs the repeat. Within one channel the writer commits
messages in the order they arrived, so one `multiple` ack up to a batch's highest tag
acknowledges exactly what the batch and the batches before it committed.

In cluster mode a worker consumes only the queues of the partitions it holds leases for
(`consume_only`, then `start_queues` / `stop_queues` as leases change); the receiver keeps
that set, so a new connection consumes it again. Cancelling a consumer leaves the channel
open: tags already handed to the writer are still acknowledged on it.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import pika
import pika.exceptions
from pika.adapters.blocking_connection import BlockingChannel

from village_brain.ingest import amqp_topology
from village_brain.ingest.amqp_topology import Topology
from village_brain.ingest.pipeline import InboundMessage
from village_brain.ingest.sources.base import Reply

log = logging.getLogger(__name__)

RECONNECT_FIRST_S = 0.2
RECONNECT_MAX_S = 5.0
POLL_S = 0.2
STOP_WAIT_S = 10.0
# What a lost or refusing node raises in pika; anything else is a bug worth its traceback.
CONNECTION_ERRORS = (pika.exceptions.AMQPError, OSError)


class AmqpReceiver:
    """Consumes the partition queues (all of them, or the ones it is told to) with
    single-active-consumer; passes messages on."""

    _v5 = False  # commands go out through the MQTT plugin, which speaks 3.1.1

    def __init__(
        self,
        urls: list[str],
        deliver: Callable[[InboundMessage], None],
        topology: Topology,
        topic_filters: list[str],
        prefetch: int = 1000,
        heartbeat: int = 10,
        consumer_tag: str = "village-brain",
    ) -> None:
        self.urls = list(urls)
        self.topology = topology
        self._deliver = deliver
        self._filters = list(dict.fromkeys(topic_filters))
        self._filters_lock = threading.Lock()
        self._prefetch = prefetch
        self._heartbeat = heartbeat
        self._consumer_tag = consumer_tag
        self.generation = 0  # counts connections; see the module docstring
        self.connected = threading.Event()
        self.node = ""  # the URL of the node we are connected to, without credentials
        self._connection: pika.BlockingConnection | None = None
        self._channel: BlockingChannel | None = None
        self._receiving: set[int] = set()  # partitions that delivered on this connection
        self._wanted: frozenset[int] | None = None  # the queues to consume; None: all
        self._consuming: set[int] = set()  # queues with a consumer on this channel
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="amqp-receiver", daemon=True)
        self.client = _CommandClient(self)  # what control publishes commands through

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Close the connection after the acks already queued are sent; what was not
        acknowledged goes back to its queue for the partition's next consumer."""
        self._stopping.set()
        self._thread.join(STOP_WAIT_S)
        self.connected.clear()

    def consume_only(self, partitions: set[int]) -> None:
        """Consume these queues only (before `start`): the rest belong to other workers."""
        self._wanted = frozenset(partitions)

    def start_queues(self, partitions: list[int]) -> None:
        """Also consume these queues, now and after every reconnect (any thread)."""
        self._want((self._wanted or frozenset()) | set(partitions))

    def stop_queues(self, partitions: list[int]) -> None:
        """Cancel these queues' consumers (any thread); what was handed on is still acked."""
        self._want((self._wanted or frozenset()) - set(partitions))

    def consuming(self) -> list[int]:
        """The queues this worker has a consumer on now."""
        return sorted(self._consuming)

    def receiving_partitions(self) -> list[int]:
        """Partitions this worker was handed messages from on its current connection.

        With single-active-consumer only a partition's active consumer gets its messages,
        but RabbitMQ 3.10 does not tell a consumer when it becomes active: a partition this
        worker owns and that has been idle since the connection began is not listed.
        """
        return sorted(self._receiving)

    # What the writer calls, from its own thread.

    def ack_all(self, messages: Sequence[InboundMessage]) -> None:
        generation = self.generation
        tags = [m.mid for m in messages if m.generation == generation]
        if tags:
            self._call_soon(generation, lambda channel: channel.basic_ack(max(tags), multiple=True))

    def publish(self, reply: Reply) -> None:
        """A device family's expected answer, published where the MQTT plugin delivers it."""
        self.send(reply.topic, reply.payload)

    def send(self, topic: str, payload: bytes) -> bool:
        """Publish to MQTT subscribers of `topic`; False when not connected now."""
        if not self.connected.is_set():
            return False
        key = amqp_topology.routing_key(topic)
        properties = pika.BasicProperties(delivery_mode=2, headers={"x-mqtt-publish-qos": 1})
        self._call_soon(
            self.generation,
            lambda channel: channel.basic_publish(
                amqp_topology.TOPIC_EXCHANGE, key, payload, properties
            ),
        )
        return True

    def subscribe(self, topics: list[str]) -> None:
        """Also receive `topics` (a source learnt them): bound now and at every connect."""
        with self._filters_lock:
            new = [t for t in topics if t not in self._filters]
            self._filters += new
        if new:
            self._call_soon(
                self.generation,
                lambda channel: amqp_topology.bind_filters(channel, self.topology, new),
            )

    def subscriptions_settled(self) -> bool:
        return self.connected.is_set()

    def _want(self, partitions: frozenset[int]) -> None:
        # Set before the call is queued: a connect that races it consumes the new set anyway.
        self._wanted = frozenset(p for p in partitions if 0 <= p < self.topology.partitions)
        self._call_soon(self.generation, self._follow_wanted)

    def _call_soon(self, generation: int, call: Callable[[BlockingChannel], Any]) -> None:
        connection = self._connection
        if connection is None:
            return

        def on_owner_thread() -> None:
            channel = self._channel
            if generation == self.generation and channel is not None and channel.is_open:
                call(channel)

        # When the connection is already gone, its unacked messages come again anyway.
        with contextlib.suppress(*CONNECTION_ERRORS):
            connection.add_callback_threadsafe(on_owner_thread)

    # The connection's own thread.

    def _run(self) -> None:
        delay = RECONNECT_FIRST_S
        attempt = 0
        while not self._stopping.is_set():
            url = self.urls[attempt % len(self.urls)]
            attempt += 1
            try:
                self._connect(url)
                delay = RECONNECT_FIRST_S
                self._consume()
            except CONNECTION_ERRORS as exc:
                self._lost(url, exc)
            except Exception:
                log.exception("the AMQP receiver failed; reconnecting")
                self._close()
            if self._stopping.wait(delay):
                break
            delay = min(delay * 2, RECONNECT_MAX_S)
        self._close()

    def _connect(self, url: str) -> None:
        parameters = pika.URLParameters(url)
        parameters.heartbeat = self._heartbeat
        parameters.connection_attempts = 1
        parameters.socket_timeout = 5
        parameters.blocked_connection_timeout = 60
        parameters.client_properties = {"connection_name": self._consumer_tag}
        connection = pika.BlockingConnection(parameters)
        channel = connection.channel()
        with self._filters_lock:
            filters = list(self._filters)
        amqp_topology.declare(channel, self.topology, filters)
        # Per consumer (quorum queues have no channel-wide limit): each partition hands us
        # at most this many unacknowledged messages.
        channel.basic_qos(prefetch_count=self._prefetch)
        self.generation += 1
        self._receiving = set()
        self._consuming = set()
        self._connection, self._channel = connection, channel
        self.node = _without_credentials(url)
        self._follow_wanted(channel)
        self.connected.set()
        log.info("connected to RabbitMQ at %s; receiving", self.node)

    def _follow_wanted(self, channel: BlockingChannel) -> None:
        """Start and cancel consumers until this channel consumes the wanted queues."""
        wanted = self._wanted
        if wanted is None:
            wanted = frozenset(range(self.topology.partitions))
        gone, new = self._consuming - wanted, wanted - self._consuming
        for partition in sorted(gone):
            self._cancel(channel, partition)
        for partition in sorted(new):
            channel.basic_consume(
                self.topology.queue(partition),
                self._handler(partition, self.generation),
                consumer_tag=self._tag(partition),
            )
            self._consuming = self._consuming | {partition}
        if gone or new:
            log.info(
                "consuming ingest queues %s",
                ", ".join(map(self.topology.queue, sorted(self._consuming))) or "none",
            )

    def _cancel(self, channel: BlockingChannel, partition: int) -> None:
        # Replaced, not changed in place: the API thread reads them without a lock.
        self._consuming = self._consuming - {partition}
        self._receiving = self._receiving - {partition}
        # pika rejects (requeues) what arrived and was not yet handed on, one tag at a time,
        # so the writer's later `multiple` acks cover only what it was given.
        channel.basic_cancel(self._tag(partition))

    def _tag(self, partition: int) -> str:
        return f"{self._consumer_tag}.{partition}"

    def _consume(self) -> None:
        connection = self._connection
        assert connection is not None
        while not self._stopping.is_set():
            connection.process_data_events(time_limit=POLL_S)
        # Send the acks queued before the stop, then close: the rest is requeued.
        connection.process_data_events(time_limit=0)

    def _handler(self, partition: int, generation: int) -> Callable[..., None]:
        def on_message(
            _channel: BlockingChannel,
            method: pika.spec.Basic.Deliver,
            properties: pika.BasicProperties,
            body: bytes,
        ) -> None:
            if partition not in self._receiving:
                # Replaced, not changed in place: the API thread reads it without a lock.
                self._receiving = self._receiving | {partition}
            qos = (properties.headers or {}).get("x-mqtt-publish-qos", 1)
            self._deliver(
                InboundMessage(
                    topic=amqp_topology.mqtt_topic(method.routing_key or ""),
                    payload=body,
                    received_ms=time.time_ns() // 1_000_000,
                    content_type=properties.content_type,
                    mid=method.delivery_tag,
                    # Every message is acknowledged, whatever QoS the device published at.
                    qos=qos if qos in (1, 2) else 1,
                    generation=generation,
                )
            )

        return on_message

    def _lost(self, url: str, exc: BaseException) -> None:
        was_connected = self.connected.is_set()
        self._close()
        if self._stopping.is_set():
            return
        if was_connected:
            log.warning("lost RabbitMQ at %s (%s); trying the next node", self.node, _said(exc))
        else:
            log.warning(
                "cannot connect to RabbitMQ at %s: %s", _without_credentials(url), _said(exc)
            )

    def _close(self) -> None:
        self.connected.clear()
        self._receiving = set()
        self._consuming = set()
        connection, self._connection, self._channel = self._connection, None, None
        if connection is None or connection.is_closed:
            return
        try:
            connection.close()
            log.info("disconnected from RabbitMQ at %s", self.node)
        except CONNECTION_ERRORS:
            pass


class _CommandClient:
    """Commands to devices through the MQTT plugin, in the shape control publishes with."""

    def __init__(self, receiver: AmqpReceiver) -> None:
        self._receiver = receiver

    def publish(self, topic: str, payload: bytes, qos: int = 1, properties: object = None) -> Any:
        sent = self._receiver.send(topic, payload)
        return _Published(0 if sent else 4)  # paho's MQTT_ERR_SUCCESS / MQTT_ERR_NO_CONN


class _Published:
    def __init__(self, rc: int) -> None:
        self.rc = rc


def _without_credentials(url: str) -> str:
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.rpartition('@')[2]}"


def _said(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__
