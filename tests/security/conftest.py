"""Fixtures for the security suite: brokers with passwords, ACLs and TLS, and a service.

Every broker here is a private Mosquitto on a free port with its files under tmp_path.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from village_brain.broker.mosquitto import MosquittoProcess
from village_brain.core.config import load_settings
from village_brain.service import Service

from security_kit import HOST, ConfiguredMosquitto, wait_until
from support.mosquitto import ensure_mosquitto
from support.ports import free_port


@pytest.fixture
def start_broker(tmp_path: Path) -> Iterator[Callable[..., ConfiguredMosquitto]]:
    started: list[ConfiguredMosquitto] = []

    def start(
        extra_global: list[str] | None = None,
        extra_listener: list[str] | None = None,
        config: Path | None = None,
    ) -> ConfiguredMosquitto:
        broker = ConfiguredMosquitto(
            tmp_path / f"broker-{len(started)}", extra_global or [], extra_listener or [], config
        )
        started.append(broker)
        return broker

    yield start
    for broker in started:
        broker.stop()


@pytest.fixture
def start_service(tmp_path: Path) -> Iterator[Callable[..., Service]]:
    """Starts Village Brain against a broker URL; settings as load_settings keywords."""
    started: list[Service] = []

    def start(url: str, wait: bool = True, **overrides: Any) -> Service:
        mqtt_settings = {"url": url, "client_id": f"ingest-{time.monotonic_ns()}"}
        mqtt_settings |= overrides.pop("mqtt", {})
        store = {"data_dir": tmp_path / "data", **overrides.pop("store", {})}
        settings = load_settings(mqtt=mqtt_settings, store=store, **overrides)
        service = Service(settings, url)
        service.start()
        started.append(service)
        if wait:
            wait_until(service.receiver.connected.is_set, what="ingest to subscribe")
        return service

    yield start
    for service in started:
        service.stop()


@pytest.fixture
def plain_broker(tmp_path: Path) -> Iterator[MosquittoProcess]:
    """An anonymous Mosquitto with the recommended settings, restartable on the same port."""
    broker = MosquittoProcess(tmp_path / "plain-broker", HOST, free_port(HOST), ensure_mosquitto())
    broker.start()
    yield broker
    broker.stop()
