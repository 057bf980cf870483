"""One device's MQTT connection: presence, QoS 1 publishing, and a pulled plug."""

from __future__ import annotations

import logging
from collections.abc import Callable
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from village_brain.simulator.layout import SimDevice
from village_brain.simulator.payloads import topic

log = logging.getLogger(__name__)

_KEEPALIVE_S = 30


def broker_address(mqtt_url: str) -> tuple[str, int]:
    parts = urlsplit(mqtt_url)
    if parts.scheme not in ("mqtt", "tcp", ""):
        raise ValueError(f"{mqtt_url!r}: the simulator speaks plain MQTT (mqtt://host:port)")
    return parts.hostname or "127.0.0.1", parts.port or 1883


class DeviceLink:
    """A paho client named after the device, with `offline` as its retained Last Will."""

    def __init__(self, device: SimDevice, host: str, port: int, mqtt_version: str) -> None:
        if mqtt_version not in ("5", "3.1.1"):
            raise ValueError(f"MQTT version must be '5' or '3.1.1', not {mqtt_version!r}")
        self.device = device
        self.host, self.port = host, port
        self.v5 = mqtt_version == "5"
        self.status_topic = topic(device.village, device.id, "status")
        self._unplugged = False
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=device.id,
            protocol=mqtt.MQTTv5 if self.v5 else mqtt.MQTTv311,
        )
        self.client.will_set(self.status_topic, "offline", qos=1, retain=True)
        self.client.reconnect_delay_set(min_delay=1, max_delay=30)
        self.client.on_connect = self._on_connect
        # An actuator's command handler (simulator/obey.py): payload, MQTT 5 response topic.
        self.on_command: Callable[[bytes, str | None], None] | None = None
        self.command_topic = topic(device.village, device.id, "command")
        self.client.on_message = self._on_message

    @property
    def unplugged(self) -> bool:
        return self._unplugged

    @property
    def connected(self) -> bool:
        return not self._unplugged and self.client.is_connected()

    def open(self) -> None:
        self._unplugged = False
        self.client.connect_async(self.host, self.port, keepalive=_KEEPALIVE_S)
        self.client.loop_start()

    def publish(self, channel: str, payload: bytes, content_type: str | None = None) -> None:
        properties = None
        if self.v5 and content_type:
            properties = Properties(PacketTypes.PUBLISH)
            properties.ContentType = content_type
        self.client.publish(
            topic(self.device.village, self.device.id, channel),
            payload,
            qos=1,
            properties=properties,
        )

    def unplug(self) -> None:
        """Lose the link as a power cut would: no DISCONNECT, so the broker sends the Will."""
        self._unplugged = True
        # Stopping paho's loop first keeps it from noticing and reconnecting at once.
        self.client.loop_stop()
        sock = self.client.socket()
        if sock is not None:
            sock.close()

    def say_offline(self) -> mqtt.MQTTMessageInfo | None:
        """Publish the retained `offline` a clean shutdown owes; None when not connected."""
        if not self.connected:
            return None
        return self.client.publish(self.status_topic, "offline", qos=1, retain=True)

    def disconnect(self) -> None:
        """A proper DISCONNECT, so the broker does not send the Will as well."""
        if not self._unplugged:
            self.client.disconnect()
            self.client.loop_stop()

    def _on_connect(
        self,
        client: mqtt.Client,
        _userdata: object,
        _flags: mqtt.ConnectFlags,
        reason: mqtt.ReasonCode,
        _props: object,
    ) -> None:
        if reason.is_failure:
            log.warning("%s: broker refused the connection: %s", self.device.id, reason)
            return
        client.publish(self.status_topic, "online", qos=1, retain=True)
        if self.on_command is not None:
            client.subscribe(self.command_topic, qos=1)

    def answer(self, topic_name: str, payload: bytes) -> None:
        self.client.publish(topic_name, payload, qos=1)

    def _on_message(self, _client: mqtt.Client, _userdata: object, msg: mqtt.MQTTMessage) -> None:
        if self.on_command is None or msg.topic != self.command_topic:
            return
        response = getattr(msg.properties, "ResponseTopic", None) if self.v5 else None
        try:
            self.on_command(msg.payload, response)
        except Exception:
            log.exception("%s: failed on a command", self.device.id)
