"""What the MQTT callback hands on: it must never raise, or paho's network thread dies."""

import paho.mqtt.client as mqtt

from village_brain.core.catalog import default_catalog
from village_brain.ingest.codecs import default_registry
from village_brain.ingest.mqtt_client import MqttReceiver
from village_brain.ingest.pipeline import DeviceDirectory, InboundMessage, Limits, Pipeline
from village_brain.ingest.validate import TimeWindow


def test_a_topic_that_is_not_utf8_is_handed_on_to_be_refused_as_a_bad_topic():
    delivered: list[InboundMessage] = []
    receiver = MqttReceiver("mqtt://127.0.0.1:1", deliver=delivered.append)
    message = mqtt.MQTTMessage(mid=7, topic=b"village/x/\xff\xfe/telemetry")
    message.payload = b'{"values": {"rssi": -80}}'
    receiver._on_message(receiver.client, None, message)
    [inbound] = delivered
    assert inbound.mid == 7 and inbound.payload == message.payload
    catalog = default_catalog()
    pipeline = Pipeline(
        catalog,
        default_registry(catalog),
        DeviceDirectory({}, auto_register=True),
        Limits(65_536, 1000, TimeWindow(300_000, 7 * 86_400_000)),
    )
    [rejection] = pipeline.process(inbound).rejections
    assert rejection.reason == "bad_topic"


def test_the_brokers_retain_flag_is_handed_on_with_the_message():
    delivered: list[InboundMessage] = []
    receiver = MqttReceiver("mqtt://127.0.0.1:1", deliver=delivered.append)
    for retain in (True, False):
        message = mqtt.MQTTMessage(mid=3, topic=b"village/x/g1/status")
        message.retain = retain
        receiver._on_message(receiver.client, None, message)
    assert [inbound.retain for inbound in delivered] == [True, False]
