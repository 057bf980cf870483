"""What a RabbitMQ node spends on MQTT connections and on queued messages (docs/scale.md).

On a private node (tests/support/rabbitmq.py): the node's resident memory (all its
processes, from /proc) before and after N idle MQTT 3.1.1 connections; then its memory and
its data directory's size before and after a backlog of our native telemetry messages,
published with confirms into the partition quorum queues.

Run:  .venv/bin/python bench/cluster_sizing.py --connections 1000 --messages 200000
"""

from __future__ import annotations

import argparse
import socket
import struct
import sys
import tempfile
import time
from pathlib import Path

import pika
from cluster import FILTERS, PARTITIONS, backlog, payload
from cluster_amqp import ConfirmedPublisher, session_pids

from village_brain.ingest import amqp_topology
from village_brain.ingest.amqp_topology import Topology

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from support.rabbitmq import RabbitNode, start_rabbitmq

SETTLE_S = 5.0


def connect_packet(client_id: str) -> bytes:
    """An MQTT 3.1.1 CONNECT: clean session, keepalive 60 s."""
    body = b"\x00\x04MQTT\x04\x02\x00\x3c" + struct.pack("!H", len(client_id)) + client_id.encode()
    size, length = len(body), b""
    while True:
        digit, size = size % 128, size // 128
        length += bytes([digit | (0x80 if size else 0)])
        if not size:
            return b"\x10" + length + body


def node_rss(node: RabbitNode) -> int:
    assert node.process is not None
    total = 0
    for pid in session_pids(node.process.pid):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1]) * 1024
    return total


def disk_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def connections(node: RabbitNode, count: int) -> str:
    before = node_rss(node)
    sockets = []
    for i in range(count):
        sock = socket.create_connection((node.host, node.mqtt_port))
        sock.sendall(connect_packet(f"dev-{i:05d}"))
        if sock.recv(4)[:1] != b"\x20":
            raise SystemExit(f"connection {i} was not accepted")
        sockets.append(sock)
    time.sleep(SETTLE_S)
    after = node_rss(node)
    for sock in sockets:
        sock.close()
    return (
        f"{count:,} idle MQTT connections: {(after - before) / count / 1024:.1f} KiB each "
        f"(node RSS {before / 2**20:.0f} → {after / 2**20:.0f} MiB)"
    )


def messages(node: RabbitNode, count: int) -> str:
    topology = Topology("sizing.ingest", PARTITIONS)
    connection = pika.BlockingConnection(pika.URLParameters(node.amqp_url))
    amqp_topology.declare(connection.channel(), topology, FILTERS)
    connection.close()
    time.sleep(SETTLE_S)
    rss, disk = node_rss(node), disk_bytes(node.dir / "mnesia")
    start = int(time.time() * 1000)
    confirmed = ConfirmedPublisher(node.amqp_url, backlog(count, 10_000, start)).run()
    time.sleep(SETTLE_S)
    rss, disk = node_rss(node) - rss, disk_bytes(node.dir / "mnesia") - disk
    return (
        f"{confirmed:,} messages queued (body {len(payload(0, start))} B): node RSS "
        f"{rss / confirmed:,.0f} B a message, disk {disk / confirmed:,.0f} B a message"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--connections", type=int, default=1_000)
    parser.add_argument("--messages", type=int, default=200_000)
    args = parser.parse_args()
    if args.connections < 1 or args.messages < 1:
        parser.error("--connections and --messages must be ≥ 1")
    with tempfile.TemporaryDirectory(prefix="vb-sizing-") as tmp:
        cluster = start_rabbitmq(Path(tmp) / "rabbitmq", 1)
        try:
            time.sleep(SETTLE_S)  # the node's memory settles after its boot
            node = cluster.nodes[0]
            print(connections(node, args.connections), flush=True)
            print(messages(node, args.messages), flush=True)
        finally:
            cluster.stop()


if __name__ == "__main__":
    main()
