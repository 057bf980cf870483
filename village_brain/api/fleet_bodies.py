"""Fleet-sized answers (every device, every device's latest, long series) encoded with msgspec.

Building and re-validating one pydantic model per device and reading took over a second
for 10,000 devices; these records encode the same bodies in a few milliseconds. The
pydantic models in schemas.py still describe the answers in the OpenAPI document, and a
test keeps the two field for field alike.

None of them is tracked by the cycle collector (`gc=False`; they hold only text, numbers
and lists, so they make no cycles): a fleet's answer is tens of thousands of them, and
the collector scanning each again and again took a third of the request.
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec
from fastapi import Response


class LocationBody(msgspec.Struct, gc=False):
    lat: float | None
    lon: float | None
    place: str


class DeviceBody(msgspec.Struct, gc=False):
    id: str
    village: str
    kind: str
    name: str
    location: LocationBody
    sensors: list[str]
    online: bool
    health: str
    status: str | None
    last_seen: str | None
    last_stored_ms: int | None
    last_refused_ms: int | None
    last_refused_reason: str | None
    registered_by: str
    foreign_id: str


class LatestBody(msgspec.Struct, gc=False):
    sensor: str
    value: float
    unit: str
    symbol: str
    time: str
    ts_ms: int
    age_s: float


class DeviceLatestBody(msgspec.Struct, gc=False):
    device: str
    readings: list[LatestBody]


class BucketBody(msgspec.Struct, gc=False):
    start: str
    start_ms: int
    min: float
    max: float
    mean: float
    count: int
    last: float


class SeriesBody(msgspec.Struct, gc=False):
    """A month at a one-minute step is 43,200 buckets: as big an answer as the fleet's."""

    device: str
    sensor: str
    unit: str
    start_ms: int
    end_ms: int
    step_ms: int
    buckets: list[BucketBody]


_encoder = msgspec.json.Encoder()


def json_response(body: msgspec.Struct | Sequence[msgspec.Struct]) -> Response:
    # A Response passes FastAPI by: no second validation against the response model.
    return Response(_encoder.encode(body), media_type="application/json")
