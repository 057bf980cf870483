"""A device's side of control on a real broker: a client that takes commands and answers."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable

import paho.mqtt.client as mqtt

from village_brain.ingest.mqtt_client import split_mqtt_url

from support.waiting import wait_until


class CommandedDevice:
    """Subscribes to its command topic with a persistent session; `answer(command)` returns
    the answers (status, extra fields) it gives to each command."""

    def __init__(
        self,
        url: str,
        village: str,
        device: str,
        answer: Callable[[dict], list[dict]],
        client_id: str | None = None,
    ) -> None:
        self.topic = f"village/{village}/{device}/command"
        self.answer = answer
        self.received: list[dict] = []
        self.properties: list[mqtt.Properties] = []
        host, port = split_mqtt_url(url)
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id=client_id or device, protocol=mqtt.MQTTv5
        )
        self.client.on_message = self._on_message
        subscribed = threading.Event()
        self.client.on_subscribe = lambda *_: subscribed.set()
        props = mqtt.Properties(mqtt.PacketTypes.CONNECT)
        props.SessionExpiryInterval = 3600  # the broker keeps its commands while it is away
        self.client.connect(host, port, clean_start=False, properties=props)
        self.client.loop_start()
        self.client.subscribe(self.topic, qos=1)
        assert subscribed.wait(10), "the broker did not confirm the command subscription"

    def _on_message(self, client, _userdata, msg) -> None:
        command = json.loads(msg.payload)
        self.received.append(command)
        self.properties.append(msg.properties)
        for answer in self.answer(command):
            body = json.dumps({"id": command["id"], **answer})
            client.publish(command["reply_to"], body, qos=1)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def wait_for_state(get: Callable[[], dict], state: str, timeout: float = 30) -> dict:
    return wait_until(
        lambda: (c := get()) and c.get("state") == state and c,
        timeout=timeout,
        what=f"the command to be {state}",
    )


def now_s() -> float:
    return time.monotonic()
