"""The cluster stage: which evaluation partitions this worker evaluates, and their queues.

Its own thread runs `Ownership.step()` every third of a lease. Changes reach the thread that
owns the RabbitMQ connection (pika's connection is not thread-safe), which applies them in
the order that keeps one evaluator per partition:

- gained: the engine takes the partition (its states from the shared store, rate windows
  rebuilt from the series, no-data armed for its devices), then `eval.{p}` is consumed;
- lost: the consumer is cancelled first, what it delivered and was not settled is put back
  for the successor, then the engine forgets the partition.

An eval message is acknowledged only once the engine applied it and wrote down every change
and state of its partition. A write the fence refuses (`StaleEpoch`: a successor holds the
partition) is counted and dropped; the partition is lost at the next step.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable

import msgspec
import pika
import pika.exceptions
from pika.adapters.blocking_connection import BlockingChannel

from village_brain.alerts.engine import AlertEngine
from village_brain.cluster.eval_queues import EvalTopology, connect
from village_brain.cluster.eval_records import decode
from village_brain.cluster.ownership import Changes, Ownership

log = logging.getLogger(__name__)

POLL_S = 0.1
RECONNECT_S = 1.0
CONNECTION_ERRORS = (pika.exceptions.AMQPError, OSError)


class EvalStage:
    def __init__(
        self,
        engine: AlertEngine,
        ownership: Ownership,
        urls: list[str],
        topology: EvalTopology,
        lease_seconds: float,
        prefetch: int = 100,
        heartbeat: int = 10,
        name: str = "village-brain",
    ) -> None:
        self.engine = engine
        self.ownership = ownership
        self.urls = list(urls)
        self.topology = topology
        self._step_s = lease_seconds / 3
        self._prefetch = prefetch
        self._heartbeat = heartbeat
        self._name = name
        self._changes: queue.SimpleQueue[Changes] = queue.SimpleQueue()
        self._stop = threading.Event()
        self._consuming: set[int] = set()
        self._pending: dict[int, list[int]] = {}  # delivery tags applied, not yet settled
        self._channel: BlockingChannel | None = None
        self.applied = 0
        # Told of every change, on the leases thread (the ingest receiver follows them).
        self.listeners: list[Callable[[Changes], None]] = []
        self._leases = threading.Thread(target=self._run_leases, name="leases", daemon=True)
        self._consumer = threading.Thread(target=self._run_consumer, name="eval", daemon=True)

    def start(self) -> None:
        self._leases.start()
        self._consumer.start()

    def stop(self) -> None:
        """Close the queues (what is unacknowledged goes back), then give the leases up at
        once, so successors need not wait them out."""
        self._stop.set()
        self._consumer.join(timeout=10)
        self._leases.join(timeout=10)
        owned = set(self.engine.owned_partitions() or [])
        if owned:
            self.engine.drop_partitions(owned)
        try:
            self.ownership.release_all()
        except Exception:
            log.warning("could not release the partition leases; they run out by themselves")

    def owned(self) -> list[int]:
        return self.ownership.owned()

    # --- leases ---------------------------------------------------------------------------

    def _run_leases(self) -> None:
        failing = False
        while not self._stop.is_set():
            try:
                changes = self.ownership.step()
            except Exception:
                if not failing:
                    log.exception("could not renew the partition leases; will try again")
                failing = True
            else:
                if failing:
                    log.info("partition leases renewed again")
                failing = False
                if changes.gained or changes.lost:
                    log.info("partitions gained %s, lost %s", changes.gained, changes.lost)
                    self._changes.put(changes)
                    for listener in self.listeners:
                        listener(changes)
            self._stop.wait(self._step_s)

    # --- the connection's thread -----------------------------------------------------------

    def _run_consumer(self) -> None:
        attempt = 0
        while not self._stop.is_set():
            url = self.urls[attempt % len(self.urls)]
            attempt += 1
            try:
                self._consume(url)
            except CONNECTION_ERRORS as exc:
                log.warning("eval queues: lost RabbitMQ (%s); reconnecting", exc or type(exc))
            except Exception:
                log.exception("the eval consumer failed; reconnecting")
            self._channel = None
            self._consuming = set()
            self._pending = {}  # unacknowledged on a closed channel: they come again
            self._apply_changes()  # gains and losses still apply while disconnected
            self._stop.wait(RECONNECT_S)

    def _consume(self, url: str) -> None:
        connection = connect(url, self._heartbeat, f"{self._name}.eval")
        try:
            channel = connection.channel()
            self.topology.declare(channel)
            channel.basic_qos(prefetch_count=self._prefetch)
            self._channel = channel
            for partition in self.engine.owned_partitions() or []:
                self._start_consuming(partition)
            while not self._stop.is_set():
                connection.process_data_events(time_limit=POLL_S)
                self._apply_changes()
                self._ack_settled()
            for partition in list(self._consuming):
                self._stop_consuming(partition)
        finally:
            if connection.is_open:
                connection.close()

    def _apply_changes(self) -> None:
        while True:
            try:
                changes = self._changes.get_nowait()
            except queue.Empty:
                return
            for partition in changes.lost:
                self._stop_consuming(partition)
            if changes.lost:
                self.engine.drop_partitions(set(changes.lost))
            if changes.gained:
                self.engine.take_partitions(set(changes.gained))
            for partition in changes.gained:
                self._start_consuming(partition)

    def _start_consuming(self, partition: int) -> None:
        channel = self._channel
        if channel is None or partition in self._consuming:
            return
        channel.basic_consume(
            self.topology.queue(partition),
            self._handler(partition),
            consumer_tag=self._tag(partition),
        )
        self._consuming.add(partition)

    def _stop_consuming(self, partition: int) -> None:
        channel = self._channel
        if channel is None or partition not in self._consuming:
            return
        self._consuming.discard(partition)
        channel.basic_cancel(self._tag(partition))
        # Applied here, not written down: back to the queue, for the successor.
        for tag in self._pending.pop(partition, []):
            channel.basic_nack(tag, requeue=True)

    def _tag(self, partition: int) -> str:
        return f"{self._name}.eval.{partition}"

    def _handler(self, partition: int) -> Callable[..., None]:
        def on_message(
            channel: BlockingChannel,
            method: pika.spec.Basic.Deliver,
            _properties: pika.BasicProperties,
            body: bytes,
        ) -> None:
            tag = method.delivery_tag
            try:
                batch = decode(body)
            except (msgspec.ValidationError, msgspec.DecodeError) as exc:
                log.error(
                    "dropping a message on %s that is no eval batch: %s", method.routing_key, exc
                )
                channel.basic_ack(tag)
                return
            self.engine.on_batch(batch.readings, batch.record())
            self.applied += 1
            pending = self._pending.setdefault(partition, [])
            pending.append(tag)
            self._ack_settled()

        return on_message

    def _ack_settled(self) -> None:
        channel = self._channel
        if channel is None:
            return
        if not any(self._pending.values()):
            return
        unsettled = self.engine.unsettled()
        for partition, tags in list(self._pending.items()):
            if tags and partition not in unsettled:
                for tag in tags:
                    channel.basic_ack(tag)
                del self._pending[partition]
