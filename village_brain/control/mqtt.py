"""Commands onto the broker, on ingest's own connection (the ACL lets it write commands).

MQTT 5 carries the expiry, response topic and correlation data as properties, so the broker
drops a command it holds for an offline device once it is stale; MQTT 3.1.1 has only the
payload's copies of them (PROTOCOL.md §14).
"""

from __future__ import annotations

import threading

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from village_brain.control.wire import OutgoingCommand

CONTENT_TYPE = "application/vnd.village-brain.command+json"


class CommandPublisher:
    def __init__(self, client: mqtt.Client, connected: threading.Event, v5: bool) -> None:
        self.client = client
        self.connected = connected
        self.v5 = v5

    def __call__(self, command: OutgoingCommand) -> bool:
        """Publish at QoS 1; False when there is no connection to take it now."""
        if not self.connected.is_set():
            return False
        properties = None
        if self.v5:
            properties = Properties(PacketTypes.PUBLISH)
            properties.MessageExpiryInterval = command.expiry_s
            if command.response_topic:  # ours; another family's firmware reads none of these
                properties.ResponseTopic = command.response_topic
                properties.CorrelationData = command.correlation
                properties.ContentType = CONTENT_TYPE
        info = self.client.publish(command.topic, command.payload, qos=1, properties=properties)
        return info.rc == mqtt.MQTT_ERR_SUCCESS
