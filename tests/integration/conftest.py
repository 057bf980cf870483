"""Fixtures for end-to-end tests: a running Village Brain service and a device-side publisher."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from village_brain.service import Service

from harness import RunningService, make_service
from support.waiting import wait_until

_ids = itertools.count()


@pytest.fixture
def start_service(mosquitto, tmp_path) -> Iterator[Callable[..., RunningService]]:
    started: list[Service] = []

    def start(
        url: str | None = None, client_id: str | None = None, **overrides: Any
    ) -> RunningService:
        client_id = client_id or f"ingest-{next(_ids)}-{time.monotonic_ns()}"
        service = make_service(url or mosquitto.url, tmp_path / "data", client_id, **overrides)
        service.start()
        started.append(service)
        wait_until(service.receiver.connected.is_set, what="ingest to connect")
        return RunningService(service)

    yield start
    for service in started:
        service.stop()


@pytest.fixture
def running(start_service) -> RunningService:
    return start_service()
