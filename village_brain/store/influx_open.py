"""Building the InfluxDB backend from its settings."""

from __future__ import annotations

import ssl
from pathlib import Path

import httpx

from village_brain.core.config import InfluxSettings
from village_brain.core.timefmt import parse_duration_ms
from village_brain.store.influx_query import InfluxQL
from village_brain.store.influx_series import DeadLetter, InfluxSeriesStore, SeriesReader
from village_brain.store.influx_spool import Spool
from village_brain.store.influx_write import LineWriter, V1LineWriter, V2LineWriter
from village_brain.store.influxql_reader import InfluxQLReader
from village_brain.store.prometheus_reader import PrometheusReader

SPOOL_FILE = "influx-spool.sqlite3"


def open_influx_store(
    settings: InfluxSettings, data_dir: Path, dead_letter: DeadLetter
) -> InfluxSeriesStore:
    timeout_s = parse_duration_ms(settings.timeout) / 1000
    client = _http_client(settings, timeout_s)
    return InfluxSeriesStore(
        writer=_line_writer(settings, client, timeout_s),
        reader=_reader(settings, client),
        spool=Spool(data_dir / SPOOL_FILE, settings.spool_max_points),
        dead_letter=dead_letter,
        max_per_request=settings.max_points_per_request,
        retry_max_s=parse_duration_ms(settings.spool_retry_max) / 1000,
        delete_points=settings.retention_by == "delete",
    )


def _reader(settings: InfluxSettings, client: httpx.Client) -> SeriesReader:
    if settings.query_api == "prometheus":
        within_ms = parse_duration_ms(settings.latest_within)
        # Only /write?db= labels the points with their database (see prometheus_reader).
        database = settings.database if settings.write_api == "v1" else None
        return PrometheusReader(client, database, within_ms)
    return InfluxQLReader(InfluxQL(client, settings.database))


def _line_writer(settings: InfluxSettings, client: httpx.Client, timeout_s: float) -> LineWriter:
    if settings.write_api == "v1":
        return V1LineWriter(client, settings.database)
    # 1.8 reads the v2 token as "user:password" and ignores the organisation.
    token = settings.token.get_secret_value() if settings.token else _user_password(settings)
    return V2LineWriter(
        settings.url,
        settings.bucket or settings.database,
        settings.org or "-",
        token,
        timeout_s,
        ca_file=str(settings.ca_file) if settings.ca_file else None,
        verify_tls=settings.verify_tls,
    )


def _http_client(settings: InfluxSettings, timeout_s: float) -> httpx.Client:
    """One client for InfluxQL reads and 1.x writes: same server, credentials and TLS."""
    auth, headers = _credentials(settings)
    return httpx.Client(
        base_url=settings.url,
        auth=auth,
        headers=headers,
        timeout=timeout_s,
        verify=_verify(settings),
    )


def _verify(settings: InfluxSettings) -> ssl.SSLContext | bool:
    """What httpx checks an https:// server's certificate against."""
    if not settings.verify_tls:
        return False
    return ssl.create_default_context(cafile=settings.ca_file) if settings.ca_file else True


def _credentials(settings: InfluxSettings) -> tuple[httpx.Auth | None, dict[str, str]]:
    if settings.token is not None:
        return None, {"Authorization": f"Token {settings.token.get_secret_value()}"}
    if settings.username is not None:
        password = settings.password.get_secret_value() if settings.password else ""
        return httpx.BasicAuth(settings.username, password), {}
    return None, {}


def _user_password(settings: InfluxSettings) -> str:
    if settings.username is None:
        return ""
    password = settings.password.get_secret_value() if settings.password else ""
    return f"{settings.username}:{password}"
