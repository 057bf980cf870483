"""The MQTT client's own cost per message: stock paho against ingest's `WireClient`.

No broker and no store: a socket pair plays the broker, sending N QoS 1 PUBLISH packets as
Mosquitto sends them to an MQTT 5 subscriber, and counting the PUBACKs that come back. The
client runs its usual network thread; a second thread plays the writer, taking what
`on_message` queued and acknowledging it in batches (stock paho: one `ack()` a message;
`WireClient`: one `ack_many()` a batch). The figure is the time until the last PUBACK is
back, alternated over rounds, each client in the same process and conditions.

Run:  .venv/bin/python bench/mqtt_client.py --help
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import socket
import statistics
import struct
import threading
import time

import paho.mqtt.client as mqtt
from paho.mqtt.enums import _ConnectionState

from village_brain.ingest.mqtt_wire import WireClient

PAYLOAD = json.dumps(
    {"ts": 1_764_403_200_000, "values": {"water_level": 1.23, "battery_voltage": 3.7}}
).encode()


def publish_packet(i: int, devices: int) -> bytes:
    topic = f"village/bench/dev-{i % devices:05d}/telemetry".encode()
    body = struct.pack("!H", len(topic)) + topic + struct.pack("!H", i % 65535 + 1) + b"\x00"
    body += PAYLOAD
    return b"\x32" + _varint(len(body)) + body


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 127, value >> 7
        out.append(byte | (128 if value else 0))
        if not value:
            return bytes(out)


def run(kind: str, stream: bytes, count: int, batch: int) -> tuple[float, float]:
    """Seconds until every message is acknowledged, and the process CPU seconds used."""
    ours, broker = socket.socketpair()
    cls = WireClient if kind == "wire" else mqtt.Client
    client = cls(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5, manual_ack=True)
    inbox: queue.SimpleQueue[int] = queue.SimpleQueue()
    client.on_message = lambda _c, _u, msg: inbox.put(msg.mid)
    ours.setblocking(False)
    client._sock = ours  # as if connected: no CONNECT, no keepalive
    client._state = _ConnectionState.MQTT_CS_CONNECTED
    client._keepalive = 0
    stop = threading.Event()
    writer = threading.Thread(target=_write, args=(client, kind, inbox, batch, stop))
    cpu, began = time.process_time(), time.perf_counter()
    client.loop_start()
    writer.start()
    feeder = threading.Thread(target=broker.sendall, args=(stream,))
    feeder.start()
    acked = 0
    while acked < 4 * count:
        acked += len(broker.recv(1 << 20))
    elapsed, cpu = time.perf_counter() - began, time.process_time() - cpu
    stop.set()
    feeder.join()
    writer.join()
    client.loop_stop()
    broker.close()
    ours.close()
    return elapsed, cpu


def _write(
    client: mqtt.Client, kind: str, inbox: queue.SimpleQueue[int], size: int, stop: threading.Event
) -> None:
    while not stop.is_set():
        try:
            mids = [inbox.get(timeout=0.05)]
        except queue.Empty:
            continue
        while len(mids) < size:
            try:
                mids.append(inbox.get_nowait())
            except queue.Empty:
                break
        if kind == "wire":
            client.ack_many(mids, client.epoch)  # type: ignore[attr-defined]
        else:
            for mid in mids:
                client.ack(mid, 1)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--batch", type=int, default=500, help="acks per writer batch")
    parser.add_argument("--devices", type=int, default=100)
    args = parser.parse_args()
    if min(args.messages, args.rounds, args.batch, args.devices) < 1:
        parser.error("every option must be ≥ 1")
    stream = b"".join(publish_packet(i, args.devices) for i in range(args.messages))
    results: dict[str, list[tuple[float, float]]] = {"stock": [], "wire": []}
    for index in range(args.rounds):
        for kind in ("stock", "wire") if index % 2 == 0 else ("wire", "stock"):
            results[kind].append(run(kind, stream, args.messages, args.batch))
    load = "/".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"{args.messages:,} QoS 1 messages a round, {args.rounds} rounds, load {load}")
    for kind, runs in results.items():
        rate = statistics.median(args.messages / e for e, _ in runs)
        cpu_us = statistics.median(c / args.messages * 1e6 for _, c in runs)
        print(f"  {kind:<6} {rate:9,.0f} msg/s   {cpu_us:5.1f} µs CPU a message")
    ratios = [s[0] / w[0] for s, w in zip(results["stock"], results["wire"], strict=True)]
    print(f"  WireClient / stock paho: median {statistics.median(ratios):.2f}× the rate")


if __name__ == "__main__":
    main()
