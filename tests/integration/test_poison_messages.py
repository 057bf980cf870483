"""One message never stops ingest: poison published to a real Mosquitto, retained or not.

Each message below once stopped ingest for good (the writer died, or its commit was retried
forever, so the message was never acknowledged and came back after every restart). Now each
is refused with a reason, acknowledged, and the readings around it are stored.
"""

import json
from collections.abc import Iterator

import pytest

from village_brain.broker.mosquitto import MosquittoProcess
from village_brain.core.timefmt import now_ms

from harness import Publisher, RunningService
from support.waiting import wait_until

pytestmark = pytest.mark.integration


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


# name: (channel, payload, the reason it is refused with)
POISON = {
    "native_nested_a_thousand_deep": (
        "telemetry",
        '{"values": {"rssi": ' + nested(1000) + "}}",
        "too_deep",
    ),
    "senml_nested_a_thousand_deep": (
        "telemetry",
        '[{"n": "rssi", "v": -80, "x": ' + nested(1000) + "}]",
        "too_deep",
    ),
    "event_data_nested_a_thousand_deep": (
        "event",
        '{"type": "door_opened", "data": {"door": ' + nested(1000) + "}}",
        "too_deep",
    ),
    "senml_time_1e306_seconds": ("telemetry", '[{"n": "rssi", "v": -80, "t": 1e306}]', None),
    "senml_base_time_1e308_seconds": (
        "telemetry",
        '[{"bt": 1e308, "n": "rssi", "v": -80, "t": 1}]',
        None,
    ),
    "native_time_of_400_digits": (
        "telemetry",
        '{"ts": 1' + "0" * 400 + ', "values": {"rssi": -80}}',
        None,
    ),
    "sensor_name_utf8_cannot_encode": (
        "telemetry",
        '{"values": {"\\ud800": {"u": 1}}}',
        "wrong_type",
    ),
}
REASONS = {name: reason or "bad_timestamp" for name, (_, _, reason) in POISON.items()}


@pytest.fixture
def broker(restartable_mosquitto: MosquittoProcess) -> MosquittoProcess:
    """A broker of the test's own: retained poison must not reach other tests."""
    return restartable_mosquitto


@pytest.fixture
def device(broker: MosquittoProcess) -> Iterator[Publisher]:
    pub = Publisher(broker.url)
    yield pub
    pub.close()


class GoodReadings:
    """Readings of one gauge, each with its own time, so each is stored exactly once."""

    def __init__(self, publisher: Publisher) -> None:
        self.publisher = publisher
        self.start = now_ms() - 60_000
        self.sent = 0

    def publish(self) -> None:
        payload = {"ts": self.start + self.sent, "values": {"water_level": self.sent / 100}}
        self.publisher.publish("village/xiashan/good/telemetry", json.dumps(payload))
        self.sent += 1


def publish_poison(publisher: Publisher, name: str, retain: bool) -> None:
    channel, payload, _ = POISON[name]
    device = name.replace("_", "-")[:64]
    publisher.publish(f"village/xiashan/{device}/{channel}", payload.encode(), retain=retain)


def assert_healthy_and_committing(running: RunningService, good: GoodReadings) -> None:
    response = running.api.get("/healthz")
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "ok" and response.json()["writer_restarts"] == 0
    good.publish()
    wait_until(lambda: running.service.stats.stored == good.sent, what="a later reading")


@pytest.mark.parametrize("retain", [False, True], ids=["sent", "retained"])
@pytest.mark.parametrize("name", sorted(POISON))
def test_the_message_is_refused_and_ingest_goes_on(name, retain, broker, device, start_service):
    good = GoodReadings(device)
    if retain:  # on the broker before ingest ever connects, as a fresh install meets it
        publish_poison(device, name, retain=True)
        running = start_service(url=broker.url)
    else:
        running = start_service(url=broker.url)
        publish_poison(device, name, retain=False)
    good.publish()
    wait_until(lambda: running.service.stats.stored == 1, what="the reading after the poison")
    [rejection] = wait_until(
        lambda: running.rejections(device=name.replace("_", "-")[:64]), what="the rejection"
    )
    assert rejection["reason"] == REASONS[name]
    assert_healthy_and_committing(running, good)


def test_every_poison_interleaved_with_readings_costs_none_of_them(broker, device, start_service):
    good = GoodReadings(device)
    for name in POISON:
        publish_poison(device, name, retain=True)
    running = start_service(url=broker.url)
    for _ in range(2):  # sent twice more, once retained, once not, between good readings
        for retain in (True, False):
            for name in POISON:
                good.publish()
                publish_poison(device, name, retain=retain)
    good.publish()
    refused = 5 * len(POISON)  # retained ones arrive at subscribe and again when replaced
    wait_until(lambda: running.service.stats.stored == good.sent, what="every good reading")
    wait_until(
        lambda: sum(running.service.stats.rejected.values()) >= refused, what="every refusal"
    )
    assert running.service.stats.duplicates == 0
    assert set(running.service.stats.rejected) == set(REASONS.values())
    assert_healthy_and_committing(running, good)
    assert running.service.stats.stored == good.sent
