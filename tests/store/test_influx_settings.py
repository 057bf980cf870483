"""Choosing and configuring the time-series backend."""

from __future__ import annotations

from pathlib import Path

import pytest

from village_brain.core.config import ConfigError, InfluxSettings, load_settings
from village_brain.service import open_stores
from village_brain.store.influx_series import InfluxSeriesStore
from village_brain.store.sqlite_series import SqliteSeriesStore


def test_the_embedded_sqlite_store_is_the_default(tmp_path: Path):
    settings = load_settings(store={"data_dir": tmp_path})
    series, registry = open_stores(tmp_path, settings)
    assert isinstance(series, SqliteSeriesStore)
    series.close()
    registry.close()


def test_backend_influxdb_opens_the_influxdb_store_with_its_spool_in_the_data_dir(
    tmp_path: Path, influx_server
):
    settings = load_settings(
        store={"backend": "influxdb", "influxdb": {"url": influx_server.url, "write_api": "v1"}}
    )
    series, registry = open_stores(tmp_path, settings)
    assert isinstance(series, InfluxSeriesStore)
    assert (tmp_path / "influx-spool.sqlite3").is_file()
    series.close()
    registry.close()


def test_secrets_are_not_shown_when_settings_are_printed():
    settings = InfluxSettings(token="t0ken-s3cret", username="vb", password="pa55-s3cret")
    shown = repr(settings) + str(settings)
    assert "s3cret" not in shown


def test_secrets_survive_loading_through_the_settings_file_and_environment(monkeypatch):
    monkeypatch.setenv("VILLAGE_BRAIN_STORE__INFLUXDB__TOKEN", "t0ken-s3cret")
    token = load_settings().store.influxdb.token
    assert token is not None and token.get_secret_value() == "t0ken-s3cret"


def test_an_influxdb_url_without_http_is_refused():
    with pytest.raises(ConfigError, match=r"store\.influxdb\.url"):
        load_settings(store={"influxdb": {"url": "influx.local:8086"}})


def test_reading_through_the_prometheus_api_with_influxql_retention_is_refused_with_the_fix():
    with pytest.raises(ConfigError, match=r'retention_by = "server".*-retentionPeriod'):
        load_settings(store={"influxdb": {"query_api": "prometheus"}})


def test_a_latest_within_that_is_no_duration_is_refused():
    with pytest.raises(ConfigError, match=r"store\.influxdb\.latest_within"):
        load_settings(store={"influxdb": {"latest_within": "a while"}})
