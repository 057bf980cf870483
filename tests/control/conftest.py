"""The control suite's own private Mosquitto (each module's), and a running service on it.

Its simulated devices leave retained presence behind, which a later suite's service on a
shared broker would take for devices of its own.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from integration.harness import RunningService, make_service

from village_brain.broker.mosquitto import MosquittoProcess

from support.mosquitto import MosquittoUnavailable, start_private_mosquitto
from support.waiting import wait_until


@pytest.fixture(scope="module")
def mosquitto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MosquittoProcess]:
    try:
        broker = start_private_mosquitto(tmp_path_factory.mktemp("control-mosquitto"))
    except MosquittoUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)
    yield broker
    broker.stop()


@pytest.fixture
def running(mosquitto, tmp_path) -> Iterator[RunningService]:
    service = make_service(mosquitto.url, tmp_path / "data", f"ingest-c-{time.monotonic_ns()}")
    service.start()
    wait_until(service.receiver.connected.is_set, what="ingest to connect")
    yield RunningService(service)
    service.stop()


@pytest.fixture
def family(mosquitto, tmp_path):
    """Start services with one device-family source each (and any other settings)."""
    started = []

    def start(source: dict, **settings) -> RunningService:
        service = make_service(
            mosquitto.url,
            tmp_path / f"data-{len(started)}",
            f"ingest-family-{time.monotonic_ns()}",
            ingest={"sources": [source]},
            alerts={"enabled": False},
            **settings,
        )
        service.start()
        started.append(service)
        wait_until(service.receiver.subscriptions_settled, what="ingest to subscribe")
        return RunningService(service)

    yield start
    for service in started:
        service.stop()
