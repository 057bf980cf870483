"""Shared fixtures. Brokers here are private instances on free ports, never a system service."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from integration.harness import Publisher

from village_brain.broker.mosquitto import MosquittoProcess

from support.mosquitto import MosquittoUnavailable, start_private_mosquitto

# A private PostgreSQL (postgres_server, postgres_dsn) for the tests that ask for one.
pytest_plugins = ["support.postgres"]


def _start_or_fail(state_dir: Path) -> MosquittoProcess:
    try:
        return start_private_mosquitto(state_dir)
    except MosquittoUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="session")
def mosquitto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MosquittoProcess]:
    """One Mosquitto with the recommended settings for the whole run (.url, .host, .port)."""
    broker = _start_or_fail(tmp_path_factory.mktemp("mosquitto"))
    yield broker
    broker.stop()


@pytest.fixture
def restartable_mosquitto(tmp_path: Path) -> Iterator[MosquittoProcess]:
    """A Mosquitto of this test's own; .restart() keeps its port and persistence directory."""
    broker = _start_or_fail(tmp_path / "mosquitto")
    yield broker
    broker.stop()


@pytest.fixture
def publisher(mosquitto: MosquittoProcess) -> Iterator[Publisher]:
    """A device's side of the shared broker: publishes and waits for the broker's ack."""
    pub = Publisher(mosquitto.url)
    yield pub
    pub.close()
