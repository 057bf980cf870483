"""A device publishing numbered readings at QoS 1 over MQTT 3.1.1, counting the PUBACKs."""

from __future__ import annotations

import itertools
import json
import threading
import time

import paho.mqtt.client as mqtt

_ids = itertools.count()
TOPIC = "village/hegang/{}/telemetry"


class Device:
    """Publishes numbered readings at QoS 1 and remembers which ones the broker PUBACKed."""

    def __init__(self, mqtt_port: int) -> None:
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=f"device-{next(_ids)}-{time.monotonic_ns()}",
            protocol=mqtt.MQTTv311,
        )
        self.client.max_inflight_messages_set(100)
        self._pending: dict[int, tuple[str, int]] = {}
        self._early: set[int] = set()
        self._lock = threading.Lock()
        self.acked: list[tuple[str, int]] = []  # (device, ts) the broker took
        self.client.on_publish = self._on_publish
        self.client.connect("127.0.0.1", mqtt_port)
        self.client.loop_start()

    def publish(self, device: str, ts: int) -> None:
        payload = json.dumps({"ts": ts, "values": {"water_level": ts % 1000 / 100}})
        # Not under our lock: paho calls on_publish holding its own, which publish takes too.
        info = self.client.publish(TOPIC.format(device), payload, qos=1)
        with self._lock:
            if info.mid in self._early:  # PUBACKed before we got here
                self._early.discard(info.mid)
                self.acked.append((device, ts))
            else:
                self._pending[info.mid] = (device, ts)

    def publish_all(self, devices: list[str], start_ts: int, count: int, pace_s: float) -> None:
        for i in range(count):
            for device in devices:
                self.publish(device, start_ts + i)
            time.sleep(pace_s)

    def _on_publish(self, _client, _userdata, mid, _reason, _props) -> None:
        with self._lock:
            sent = self._pending.pop(mid, None)
            if sent is None:
                self._early.add(mid)
            else:
                self.acked.append(sent)

    def all_acked(self) -> bool:
        with self._lock:
            return not self._pending

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
