"""A running service on the shared private Mosquitto, as the integration suite starts one."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from integration.harness import RunningService, make_service

from support.waiting import wait_until


@pytest.fixture
def running(mosquitto, tmp_path) -> Iterator[RunningService]:
    service = make_service(mosquitto.url, tmp_path / "data", f"ingest-c-{time.monotonic_ns()}")
    service.start()
    wait_until(service.receiver.connected.is_set, what="ingest to connect")
    yield RunningService(service)
    service.stop()
