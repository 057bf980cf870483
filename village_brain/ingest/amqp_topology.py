"""The RabbitMQ side of partitioned ingest: names, topic mapping, and the declarations.

Devices publish MQTT to RabbitMQ's MQTT plugin, which publishes every message to `amq.topic`
with the topic's `/` turned into `.` as the routing key. `amq.topic` is bound to a
consistent-hash exchange, which spreads routing keys over K partition queues. In RabbitMQ
3.10 the plugin sets no header naming the client or device (only `x-mqtt-publish-qos` and
`x-mqtt-dup`), so the exchange hashes the routing key: on our own layout,
`village.{village}.{device}.{channel}`, so all of one device's telemetry lands in one
partition, in order. Its status and events may land in another partition (their keys differ).

Every declaration is idempotent, so each worker declares the topology whenever it connects.
"""

from __future__ import annotations

from typing import Protocol

import msgspec

TOPIC_EXCHANGE = "amq.topic"  # where RabbitMQ's MQTT plugin publishes
HASH_EXCHANGE_TYPE = "x-consistent-hash"


class Topology(msgspec.Struct, frozen=True):
    prefix: str
    partitions: int

    @property
    def hash_exchange(self) -> str:
        return f"{self.prefix}.hash"

    def queue(self, partition: int) -> str:
        return f"{self.prefix}.{partition}"

    def queues(self) -> list[str]:
        return [self.queue(p) for p in range(self.partitions)]

    def partition_of(self, queue: str) -> int | None:
        head, _, tail = queue.rpartition(".")
        if head != self.prefix or not tail.isdigit():
            return None
        return int(tail)


class DeclaringChannel(Protocol):
    """The part of pika's BlockingChannel the declarations use."""

    def exchange_declare(self, exchange: str, exchange_type: str, durable: bool) -> object: ...
    def exchange_bind(self, destination: str, source: str, routing_key: str) -> object: ...
    def queue_declare(self, queue: str, durable: bool, arguments: dict) -> object: ...
    def queue_bind(self, queue: str, exchange: str, routing_key: str) -> object: ...


def queue_arguments() -> dict[str, object]:
    # Quorum: replicated by Raft, a message confirmed to the publisher survives its leader.
    # Single active consumer: one worker at a time owns a partition, so its order is kept.
    return {"x-queue-type": "quorum", "x-single-active-consumer": True}


def declare(channel: DeclaringChannel, topology: Topology, topic_filters: list[str]) -> None:
    """Declare the hash exchange, the partition queues and the bindings (idempotent)."""
    channel.exchange_declare(topology.hash_exchange, HASH_EXCHANGE_TYPE, durable=True)
    for queue in topology.queues():
        channel.queue_declare(queue, durable=True, arguments=queue_arguments())
        # With this exchange type the binding key is the queue's weight on the hash ring.
        channel.queue_bind(queue, topology.hash_exchange, routing_key="1")
    bind_filters(channel, topology, topic_filters)


def bind_filters(channel: DeclaringChannel, topology: Topology, topic_filters: list[str]) -> None:
    for binding in dict.fromkeys(binding_key(f) for f in topic_filters):
        channel.exchange_bind(topology.hash_exchange, TOPIC_EXCHANGE, routing_key=binding)


def binding_key(topic_filter: str) -> str:
    """An MQTT topic filter as an AMQP topic binding: `a/+/#` is `a.*.#`."""
    return ".".join("*" if level == "+" else level for level in topic_filter.split("/"))


def mqtt_topic(routing_key: str) -> str:
    """The MQTT topic a routing key came from. Exact on our own layout, whose ids have no
    dots; a topic of another family with a dot in a level comes back with a `/` there."""
    return routing_key.replace(".", "/")


def routing_key(topic: str) -> str:
    """The routing key the MQTT plugin gives a topic (for replies published through AMQP)."""
    return topic.replace("/", ".")
