"""Alert changes on the live feed across processes: what one process's engine (or staff
desk) announces reaches another process's bus, and what a process relays it does not send
on again."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from village_brain.cluster.live_feed import LiveFeedListener, LiveFeedSender
from village_brain.core.bus import Bus

from support.waiting import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.cluster]

CHANGE = {"change": "fired", "alert": {"id": 7, "state": "firing", "device": "g1"}}
LATER = {"change": "acknowledged", "alert": {"id": 7, "state": "acknowledged", "device": "g1"}}


class Process:
    """A process's bus, with its live feed's sender and listener wired as serve wires them."""

    def __init__(self, dsn: str, origin: str) -> None:
        self.bus = Bus()
        self.seen: list[tuple[str, dict]] = []
        self.bus.subscribe(lambda kind, payload: self.seen.append((kind, payload)))
        self.sender = LiveFeedSender(dsn, origin)
        self.listener = LiveFeedListener(dsn, self.bus, origin)
        self.bus.subscribe(self.sender.on_bus)
        self.sender.start()
        self.listener.start()
        wait_until(self.listener.listening.is_set, timeout=10, what="LISTEN")

    def alerts(self) -> list[dict]:
        return [payload for kind, payload in self.seen if kind == "alert"]

    def stop(self) -> None:
        self.listener.stop()
        self.sender.stop()


@pytest.fixture
def pair(postgres_dsn: str) -> Iterator[tuple[Process, Process]]:
    both = (Process(postgres_dsn, "worker"), Process(postgres_dsn, "api"))
    yield both
    for process in both:
        process.stop()


def test_an_alert_change_in_one_process_is_on_another_process_s_bus(pair):
    worker, api = pair
    worker.bus.publish("alert", CHANGE)
    wait_until(api.alerts, timeout=5, what="the alert change on the api's bus")
    assert api.alerts() == [CHANGE]


def test_a_relayed_alert_change_is_not_sent_back(pair):
    worker, api = pair
    worker.bus.publish("alert", CHANGE)
    wait_until(api.alerts, timeout=5, what="the alert change on the api's bus")
    # An echo would leave the api's sender before this, and arrive before it.
    api.bus.publish("alert", LATER)
    wait_until(lambda: LATER in worker.alerts(), timeout=5, what="the later change")
    assert worker.alerts() == [CHANGE, LATER]
