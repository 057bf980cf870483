"""RabbitMQ helpers of `bench/cluster.py`: a publisher with confirms, clearing a run's
topology, who owns which partition, and a process group's CPU from /proc."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

import pika
import pika.spec

from village_brain.ingest.amqp_topology import TOPIC_EXCHANGE, Topology

WINDOW = 5_000  # messages published and not yet confirmed, at most
# What the MQTT plugin sets on what a device publishes at QoS 1.
PROPERTIES = pika.BasicProperties(delivery_mode=2, headers={"x-mqtt-publish-qos": 1})
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


class ConfirmedPublisher:
    """Publishes to amq.topic with publisher confirms, WINDOW messages in flight."""

    def __init__(self, url: str, items: Iterable[tuple[str, bytes]]) -> None:
        self.items: Iterator[tuple[str, bytes]] = iter(items)
        self.unconfirmed: set[int] = set()
        self.low = 1  # lowest tag that may still be unconfirmed
        self.next_tag = 1
        self.nacked = self.returned = 0
        self.exhausted = False
        self.error: str | None = None
        self.connection = pika.SelectConnection(
            pika.URLParameters(url),
            on_open_callback=lambda c: c.channel(on_open_callback=self._on_channel),
            on_open_error_callback=self._on_error,
            on_close_callback=lambda _c, _reason: self.connection.ioloop.stop(),
        )

    def run(self) -> int:
        """Publish everything; how many messages the broker confirmed."""
        self.connection.ioloop.start()
        if self.error:
            raise SystemExit(f"publishing failed: {self.error}")
        return self.next_tag - 1 - self.nacked - self.returned

    def _on_error(self, _connection: object, error: BaseException) -> None:
        self.error = str(error) or type(error).__name__
        self.connection.ioloop.stop()

    def _on_channel(self, channel: pika.channel.Channel) -> None:
        self.channel = channel
        channel.add_on_return_callback(self._on_return)
        channel.confirm_delivery(self._on_confirm, callback=lambda _frame: self._fill())

    def _fill(self) -> None:
        while len(self.unconfirmed) < WINDOW and not self.exhausted:
            item = next(self.items, None)
            if item is None:
                self.exhausted = True
                break
            # mandatory: a message no queue takes comes back, and is counted, not lost quietly
            self.channel.basic_publish(TOPIC_EXCHANGE, item[0], item[1], PROPERTIES, True)
            self.unconfirmed.add(self.next_tag)
            self.next_tag += 1
        if self.exhausted and not self.unconfirmed:
            self.connection.close()

    def _on_confirm(self, frame: pika.frame.Method) -> None:
        method = frame.method
        tag = method.delivery_tag
        tags = range(self.low, tag + 1) if method.multiple else [tag]
        for each in tags:
            if each in self.unconfirmed:
                self.unconfirmed.discard(each)
                if isinstance(method, pika.spec.Basic.Nack):
                    self.nacked += 1
        if method.multiple:
            self.low = method.delivery_tag + 1
        self._fill()

    def _on_return(self, *_args: object) -> None:
        self.returned += 1


def clear_topology(url: str, topology: Topology) -> None:
    """Delete a run's queues and hash exchange, so the next run's backlog does not also
    fill queues nobody drains any more."""
    connection = pika.BlockingConnection(pika.URLParameters(url))
    try:
        channel = connection.channel()
        channel.exchange_delete(topology.hash_exchange)
        for queue in topology.queues():
            channel.queue_delete(queue)
    finally:
        connection.close()


def owners(list_consumers: str, topology: Topology) -> dict[str, list[int]]:
    """Active consumer tag prefix (the worker's client id) → partitions it owns, from
    `rabbitmqctl list_consumers queue_name consumer_tag active`."""
    owned: dict[str, list[int]] = {}
    for line in list_consumers.splitlines():
        parts = line.split()
        if len(parts) < 3 or parts[2] != "true":
            continue
        partition = topology.partition_of(parts[0])
        if partition is not None:
            owned.setdefault(parts[1].rpartition(".")[0], []).append(partition)
    return {k: sorted(v) for k, v in sorted(owned.items())}


def cpu_seconds(pids: Iterable[int]) -> float:
    """User + system CPU of these processes so far (children not waited for excluded)."""
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / CLOCK_TICKS


def session_pids(session: int) -> list[int]:
    """Every process of a session: a RabbitMQ node is a shell, erl and its helpers."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if int(fields[3]) == session:
            found.append(int(entry.name))
    return found
