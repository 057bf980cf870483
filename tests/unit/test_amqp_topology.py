"""The AMQP input's names and mappings, and which acknowledgements it sends."""

from __future__ import annotations

from village_brain.cluster.wiring import ingest_queues
from village_brain.ingest.amqp_receiver import AmqpReceiver
from village_brain.ingest.amqp_topology import Topology, binding_key, mqtt_topic, routing_key
from village_brain.ingest.pipeline import InboundMessage


def test_an_mqtt_filter_becomes_the_amqp_binding_the_mqtt_plugin_routes_by():
    assert binding_key("village/#") == "village.#"
    assert binding_key("tele/+/SENSOR") == "tele.*.SENSOR"


def test_a_routing_key_maps_back_to_the_topic_the_device_published():
    topic = "village/xiashan/pump-1/telemetry"
    assert mqtt_topic(routing_key(topic)) == topic


def test_partition_queues_are_named_by_prefix_and_number():
    topology = Topology("vb.ingest", 3)
    assert topology.queues() == ["vb.ingest.0", "vb.ingest.1", "vb.ingest.2"]
    assert topology.partition_of("vb.ingest.2") == 2
    assert topology.partition_of("other.2") is None


class _Connection:
    def __init__(self) -> None:
        self.calls: list = []

    def add_callback_threadsafe(self, call) -> None:
        self.calls.append(call)


class _Channel:
    is_open = True

    def __init__(self) -> None:
        self.acks: list[tuple[int, bool]] = []
        self.consumers: set[str] = set()

    def basic_consume(self, queue: str, _callback, consumer_tag: str) -> None:
        self.consumers.add(f"{queue} {consumer_tag}")

    def basic_cancel(self, consumer_tag: str) -> list:
        self.consumers = {c for c in self.consumers if not c.endswith(f" {consumer_tag}")}
        return []

    def basic_ack(self, tag: int, multiple: bool) -> None:
        self.acks.append((tag, multiple))


def _message(tag: int, generation: int) -> InboundMessage:
    return InboundMessage("village/v/d/telemetry", b"{}", 0, mid=tag, qos=1, generation=generation)


def test_a_committed_batch_is_acked_once_up_to_its_highest_tag_of_this_connection():
    receiver = AmqpReceiver(["amqp://x"], lambda m: None, Topology("p", 2), ["village/#"])
    connection, channel = _Connection(), _Channel()
    receiver._connection, receiver._channel, receiver.generation = connection, channel, 2
    # Tag 9 came on the previous connection: the broker has requeued it, acking it would
    # acknowledge another message on this channel.
    receiver.ack_all([_message(9, 1), _message(3, 2), _message(5, 2), _message(4, 2)])
    for call in connection.calls:
        call()
    assert channel.acks == [(5, True)]


def test_ingest_queues_follow_the_lease_of_their_number_modulo_the_lease_partitions():
    assert ingest_queues([1, 3], queues=8, k=4) == [1, 3, 5, 7]
    assert ingest_queues([], queues=8, k=4) == []


def test_a_receiver_told_its_queues_consumes_them_and_again_on_a_new_connection():
    receiver = AmqpReceiver(
        ["amqp://x"], lambda m: None, Topology("p", 4), ["village/#"], consumer_tag="w"
    )
    receiver.consume_only(set())
    connection, channel = _Connection(), _Channel()
    receiver._connection, receiver._channel, receiver.generation = connection, channel, 1
    receiver.start_queues([0, 2, 3])
    receiver.stop_queues([3])
    for call in connection.calls:
        call()
    assert channel.consumers == {"p.0 w.0", "p.2 w.2"}
    assert receiver.consuming() == [0, 2]
    receiver._consuming, fresh = set(), _Channel()  # what a reconnect starts from
    receiver._follow_wanted(fresh)
    assert fresh.consumers == {"p.0 w.0", "p.2 w.2"}


def test_a_receiver_without_a_cluster_consumes_every_queue():
    receiver = AmqpReceiver(["amqp://x"], lambda m: None, Topology("p", 3), ["village/#"])
    channel = _Channel()
    receiver._follow_wanted(channel)
    assert receiver.consuming() == [0, 1, 2]
