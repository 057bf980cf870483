"""MQTT broker support: the embedded broker and the Mosquitto child-process runner."""

from village_brain.broker.embedded import EmbeddedBroker, start_embedded_broker

__all__ = ["EmbeddedBroker", "start_embedded_broker"]
