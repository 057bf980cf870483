"""The baseline of `bench/cluster.py`: a bare pika consumer of the partition queues.

Told what to do by one JSON argument: it declares the same topology the workers declare,
consumes every partition with the workers' prefetch, decodes each body's JSON and
acknowledges (one `multiple` ack every ACK_EVERY messages, as the workers ack a batch).
It prints `ready` once consuming, `{"received": N}` when the backlog is drained (or when
nothing came for NO_PROGRESS_S), then waits for a line on stdin before it leaves, so the
parent can read its CPU from /proc while it still exists.
"""

from __future__ import annotations

import json
import sys
import time

import pika

from village_brain.ingest import amqp_topology
from village_brain.ingest.amqp_topology import Topology

ACK_EVERY = 100
NO_PROGRESS_S = 20.0


def main() -> None:
    job = json.loads(sys.argv[1])
    parameters = pika.URLParameters(job["url"])
    parameters.heartbeat = 600  # the parent stops this process while it publishes
    connection = pika.BlockingConnection(parameters)
    channel = connection.channel()
    topology = Topology(job["prefix"], job["partitions"])
    amqp_topology.declare(channel, topology, job["filters"])
    channel.basic_qos(prefetch_count=job["prefetch"])
    received = 0

    def on_message(ch: object, method: pika.spec.Basic.Deliver, _p: object, body: bytes) -> None:
        nonlocal received
        json.loads(body)
        received += 1
        if received % ACK_EVERY == 0 or received == job["messages"]:
            channel.basic_ack(method.delivery_tag, multiple=True)

    for queue in topology.queues():
        channel.basic_consume(queue, on_message)
    print("ready", flush=True)
    last, idle_since = -1, time.monotonic()
    while received < job["messages"] and time.monotonic() - idle_since < NO_PROGRESS_S:
        connection.process_data_events(time_limit=0.1)
        if received != last:
            last, idle_since = received, time.monotonic()
    waited = time.monotonic() - idle_since if received < job["messages"] else 0.0
    print(json.dumps({"received": received, "waited": waited}), flush=True)
    sys.stdin.readline()
    connection.close()


if __name__ == "__main__":
    main()
