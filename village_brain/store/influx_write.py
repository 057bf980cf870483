"""Sending line protocol to InfluxDB, and telling "try again later" from "never".

Two endpoints take the same lines: the v2 write API (InfluxDB 1.8+, 2.x, 3.x,
VictoriaMetrics) and the 1.x `/write` endpoint for servers older than 1.8. Both raise
`Unavailable` when the point may still go in later and `Rejected` when InfluxDB refused
the data itself.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import httpx
import urllib3
from influxdb_client import InfluxDBClient
from influxdb_client.rest import ApiException
from influxdb_client.service.write_service import WriteService

from village_brain.core.records import Reading
from village_brain.store.influx_lines import lines

# Only these statuses say the data is wrong. Anything else (401/403 for a bad token,
# 404 for a missing database, 429, 5xx) is a server or configuration problem that
# will pass, so the points wait in the spool rather than becoming dead letters.
REJECTING_STATUSES = frozenset({400, 422})
# The fastest level: level 9 (gzip's default) cost 10 µs a point, more than the rest of the
# ingest's work on it, for a body only a fifth smaller (47 KB rather than 37 KB for 8,000
# points); level 1 costs 0.15 µs.
GZIP_LEVEL = 1


class Unavailable(Exception):
    """InfluxDB could not take the points now: down, slow, overloaded or misconfigured."""


class Rejected(Exception):
    """InfluxDB refused the points themselves (e.g. a field type conflict)."""


class LineWriter(Protocol):
    def write(self, body: str) -> None: ...

    def close(self) -> None: ...


def classify(status: int, message: str) -> Exception:
    if status in REJECTING_STATUSES:
        return Rejected(message)
    return Unavailable(f"InfluxDB answered {status}: {message}")


class V2LineWriter:
    """The v2 write API (`/api/v2/write`) through influxdb-client, one synchronous request
    per call.

    The body is compressed here, at gzip's fastest level, and handed to the client's write
    service already compressed: the client's own gzip runs at the slowest level, which cost
    more a point than the rest of the ingest (docs/benchmarks.md).
    """

    def __init__(
        self,
        url: str,
        bucket: str,
        org: str,
        token: str,
        timeout_s: float,
        ca_file: str | None = None,
        verify_tls: bool = True,
    ) -> None:
        self.bucket = bucket
        self.org = org
        self.client = InfluxDBClient(
            url=url,
            token=token,
            org=org,
            timeout=int(timeout_s * 1000),
            enable_gzip=False,
            ssl_ca_cert=ca_file,
            verify_ssl=verify_tls,
        )
        self.service = WriteService(self.client.api_client)

    def write(self, body: str) -> None:
        try:
            self.service.post_write(
                org=self.org,
                bucket=self.bucket,
                body=gzip.compress(body.encode(), compresslevel=GZIP_LEVEL),
                precision="ms",
                content_encoding="gzip",
                content_type="text/plain; charset=utf-8",
            )
        except ApiException as exc:
            raise classify(exc.status or 0, _api_reason(exc)) from exc
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise Unavailable(f"InfluxDB unreachable: {exc}") from exc

    def close(self) -> None:
        self.client.close()


def _api_reason(exc: ApiException) -> str:
    """The server's `message` when its body has one, else what the client made of it."""
    try:
        body = json.loads(exc.body or "")
    except (TypeError, ValueError):
        body = None
    if isinstance(body, dict) and body.get("message"):
        return str(body["message"]).strip()
    return str(exc.message or exc.reason or exc.body or "").strip()


class V1LineWriter:
    """The 1.x `/write` endpoint, for servers that predate the v2 write API."""

    def __init__(self, client: httpx.Client, database: str) -> None:
        self.params = {"db": database, "precision": "ms"}
        self.client = client

    def write(self, body: str) -> None:
        _post(self.client, "/write", self.params, body)

    def close(self) -> None:
        self.client.close()


def _post(client: httpx.Client, path: str, params: dict[str, str], body: str) -> None:
    try:
        response = client.post(
            path,
            params=params,
            content=gzip.compress(body.encode(), compresslevel=GZIP_LEVEL),
            headers={"Content-Encoding": "gzip"},
        )
    except httpx.TransportError as exc:
        raise Unavailable(f"InfluxDB unreachable: {exc!r}") from exc
    if response.status_code >= 300:
        raise classify(response.status_code, error_text(response))


def error_text(response: httpx.Response) -> str:
    """The server's reason: 1.x says `error`, the v2 API `message`, others plain text."""
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()
    if not isinstance(body, dict):
        return response.text.strip()
    return str(body.get("error") or body.get("message") or response.text).strip()


@dataclass
class Delivery:
    """What became of a batch: rejected points with InfluxDB's reason, and those not sent."""

    rejected: list[tuple[Reading, str]] = field(default_factory=list)
    unsent: list[Reading] = field(default_factory=list)  # always a suffix of the batch
    why_unsent: str = ""


def deliver(writer: LineWriter, readings: Sequence[Reading], max_per_request: int) -> Delivery:
    """Send readings in order; find the refused ones by halving a rejected request.

    Resending halves is safe because a point written twice is still one point. Once the
    server is unavailable, the rest of the batch is handed back unsent, in order.
    """
    outcome = Delivery()
    for start in range(0, len(readings), max_per_request):
        chunk = readings[start : start + max_per_request]
        _send(writer, chunk, outcome)
        if outcome.unsent:
            outcome.unsent.extend(readings[start + max_per_request :])
            break
    return outcome


def _send(writer: LineWriter, readings: Sequence[Reading], outcome: Delivery) -> None:
    if outcome.unsent:
        outcome.unsent.extend(readings)
        return
    try:
        writer.write(lines(readings))
    except Unavailable as exc:
        outcome.unsent.extend(readings)
        outcome.why_unsent = str(exc)
    except Rejected as exc:
        if len(readings) == 1:
            outcome.rejected.append((readings[0], str(exc)))
            return
        middle = len(readings) // 2
        _send(writer, readings[:middle], outcome)
        _send(writer, readings[middle:], outcome)
