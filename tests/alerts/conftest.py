"""Fixtures for alert tests against a running service, a real broker and real receivers."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from integration.harness import RunningService, make_service

from village_brain.service import Service

from support.waiting import wait_until

_ids = itertools.count()

# Our own rules file: the shipped rules, with the warning line firing at once so tests need
# not wait out its `for`.
RULES = """
include_defaults = true

[[rule]]
id = "river_warning"
name = "River above the warning line"
severity = "major"
kind = "threshold"
sensor = "water_level"
above = 2.5
clear_below = 2.4
"""

# Loopback receivers, retries quick enough for a test, and no group wait (tests that group
# say so).
FAST_DELIVERY = {
    "allow_private_targets": True,
    "retry_first": "100ms",
    "retry_max": "300ms",
    "delivery_timeout": "500ms",
    "notify": {"group_wait": "0s"},
}


@pytest.fixture
def rules_file(tmp_path: Path) -> Path:
    path = tmp_path / "rules.toml"
    path.write_text(RULES, "utf-8")
    return path


@pytest.fixture
def start_service(mosquitto, tmp_path, rules_file) -> Iterator[Callable[..., RunningService]]:
    started: list[Service] = []

    def start(**alerts: Any) -> RunningService:
        settings = {"rules_file": str(rules_file), **FAST_DELIVERY, **alerts}
        client_id = f"alerts-{next(_ids)}-{time.monotonic_ns()}"
        service = make_service(mosquitto.url, tmp_path / "data", client_id, alerts=settings)
        service.start()
        started.append(service)
        wait_until(service.receiver.connected.is_set, what="ingest to connect")
        return RunningService(service)

    yield start
    for service in started:
        service.stop()
