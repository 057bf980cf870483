"""In strict mode ingest stores only what a topic says about a device it knows, where it is."""

import json

import pytest

from village_brain.core.devices import Device as Registered

from security_kit import Device, wait_until

pytestmark = pytest.mark.integration


@pytest.fixture
def strict(plain_broker, start_service):
    service = start_service(plain_broker.url, ingest={"registration": "strict"})
    service.register_devices([Registered(id="gauge-1", village="xiashan")])
    return service


def publish(broker, topic):
    device = Device(broker.port, f"pub-{topic.split('/')[2]}")
    device.publish(topic, json.dumps({"values": {"water_level": 1.2}}))
    device.close()


def test_a_known_device_in_the_wrong_village_is_refused(plain_broker, strict):
    publish(plain_broker, "village/dongcun/gauge-1/telemetry")
    [refused] = wait_until(lambda: strict.registry.rejections(reason="wrong_village"))
    assert refused.village == "dongcun" and "registered in village 'xiashan'" in refused.detail
    assert strict.series.latest("gauge-1") == []


def test_an_unknown_device_is_refused_and_counted(plain_broker, strict):
    publish(plain_broker, "village/xiashan/gauge-9/telemetry")
    wait_until(lambda: strict.stats.rejected.get("unknown_device") == 1, what="the rejection")
    assert strict.registry.device("gauge-9") is None
