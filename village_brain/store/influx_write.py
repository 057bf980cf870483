"""Sending line protocol to InfluxDB, and telling "try again later" from "never".

Two transports post the same lines: the v2 write API through influxdb-client (InfluxDB
1.8+, 2.x, 3.x) and the 1.x `/write` endpoint for servers older than 1.8. Both raise
`Unavailable` when the point may still go in later and `Rejected` when InfluxDB refused
the data itself.
"""

from __future__ import annotations

import gzip
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import httpx
import urllib3
from influxdb_client import InfluxDBClient, WritePrecision
from influxdb_client.client.write_api import SYNCHRONOUS
from influxdb_client.rest import ApiException

from village_brain.core.records import Reading
from village_brain.store.influx_lines import lines

# Only these statuses say the data is wrong. Anything else (401/403 for a bad token,
# 404 for a missing database, 429, 5xx) is a server or configuration problem that
# will pass, so the points wait in the spool rather than becoming dead letters.
REJECTING_STATUSES = frozenset({400, 422})


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
    """The v2 write API, one synchronous gzip request per call."""

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
            enable_gzip=True,
            ssl_ca_cert=ca_file,
            verify_ssl=verify_tls,
        )
        self.api = self.client.write_api(write_options=SYNCHRONOUS)

    def write(self, body: str) -> None:
        try:
            self.api.write(self.bucket, self.org, body, WritePrecision.MS)
        except ApiException as exc:
            raise classify(exc.status or 0, str(exc.message).strip()) from exc
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise Unavailable(f"InfluxDB unreachable: {exc}") from exc

    def close(self) -> None:
        self.client.close()


class V1LineWriter:
    """The 1.x `/write` endpoint, for servers that predate the v2 write API."""

    def __init__(self, client: httpx.Client, database: str) -> None:
        self.params = {"db": database, "precision": "ms"}
        self.client = client

    def write(self, body: str) -> None:
        try:
            response = self.client.post(
                "/write",
                params=self.params,
                content=gzip.compress(body.encode()),
                headers={"Content-Encoding": "gzip"},
            )
        except httpx.TransportError as exc:
            raise Unavailable(f"InfluxDB unreachable: {exc!r}") from exc
        if response.status_code >= 300:
            raise classify(response.status_code, error_text(response))

    def close(self) -> None:
        self.client.close()


def error_text(response: httpx.Response) -> str:
    try:
        return str(response.json().get("error", response.text)).strip()
    except ValueError:
        return response.text.strip()


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
