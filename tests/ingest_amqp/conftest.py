"""RabbitMQ nodes for the AMQP input's tests,.

The nodes are private (see support/rabbitmq.py) and shared by the run; each test keeps its
queues apart with a queue prefix of its own.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.influx import InfluxServer, ServerUnavailable, start_influx
from support.rabbitmq import RabbitCluster, start_rabbitmq
from support.victoria import VictoriaServer, start_victoria

_ids = itertools.count()


def _started(root: Path, size: int) -> RabbitCluster:
    try:
        return start_rabbitmq(root, size)
    except ServerUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="session")
def rabbit(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RabbitCluster]:
    """One node for the whole run."""
    cluster = _started(tmp_path_factory.mktemp("rabbitmq"), 1)
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session")
def rabbit_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RabbitCluster]:
    """Three clustered nodes; a test that kills one restarts it before it ends."""
    cluster = _started(tmp_path_factory.mktemp("rabbitmq-cluster"), 3)
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session")
def influx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InfluxServer]:
    """A series store several workers share, as they would in production."""
    try:
        server = start_influx(tmp_path_factory.mktemp("influxdb"))
    except ServerUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def victoria(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VictoriaServer]:
    """A VictoriaMetrics the workers write to through its InfluxDB-compatible write path.

    Redelivered readings reach it again, and it keeps every copy of a point unless told to
    deduplicate: a 1 ms interval keeps one sample per series and reading time, the dedupe
    rule the other stores apply by themselves."""
    try:
        server = start_victoria(
            tmp_path_factory.mktemp("victoria"), ("-dedup.minScrapeInterval=1ms",)
        )
    except ServerUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)
    yield server
    server.stop()


@pytest.fixture
def queue_prefix() -> str:
    return f"vbtest{next(_ids)}.ingest"
