"""Store servers for the tests here: private instances on free ports, shared by the session."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from village_brain.core.config import InfluxSettings
from village_brain.core.records import Rejection
from village_brain.store.influx_open import open_influx_store
from village_brain.store.influx_series import InfluxSeriesStore

from support.influx import InfluxServer, ServerUnavailable, start_influx
from support.victoria import VictoriaServer, start_victoria

_databases = itertools.count()


def _started(start: Callable[[Path], InfluxServer | VictoriaServer], state_dir: Path):
    try:
        return start(state_dir)
    except ServerUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="session")
def influx_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InfluxServer]:
    """One InfluxDB 1.x for the whole run; tests keep apart by using databases of their own."""
    server = _started(start_influx, tmp_path_factory.mktemp("influxdb"))
    yield server
    server.stop()


@pytest.fixture
def own_influx_server(tmp_path: Path) -> Iterator[InfluxServer]:
    """An InfluxDB 1.x this test may stop, restart or pause (same port and data)."""
    server = _started(start_influx, tmp_path / "influxdb")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def victoria_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VictoriaServer]:
    server = _started(start_victoria, tmp_path_factory.mktemp("victoria"))
    yield server
    server.stop()


@pytest.fixture
def fresh_database(influx_server: InfluxServer) -> str:
    return influx_server.create_database(f"test_{next(_databases)}")


@pytest.fixture
def dead_letters() -> list[Rejection]:
    return []


@pytest.fixture
def open_influx(
    tmp_path: Path, dead_letters: list[Rejection]
) -> Iterator[Callable[..., InfluxSeriesStore]]:
    """Open InfluxDB stores from settings (spool under this test's directory); all get closed."""
    opened: list[InfluxSeriesStore] = []

    def open_store(data_dir: Path = tmp_path / "data", **settings: object) -> InfluxSeriesStore:
        defaults: dict[str, object] = {"write_api": "v1", "spool_retry_max": "1s"}
        store = open_influx_store(
            InfluxSettings(**{**defaults, **settings}), data_dir, dead_letters.extend
        )
        opened.append(store)
        return store

    yield open_store
    for store in opened:
        store.close()
