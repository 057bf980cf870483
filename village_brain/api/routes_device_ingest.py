"""HTTP ingest: devices and services that cannot speak MQTT post readings here.

Authenticated by a device token (`village-brain device-tokens`), never by a person's login
or API token; a device's token posts for that device only, a gateway's for any device of
its village. The answer comes once what was posted is committed (PROTOCOL §13).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response
from pydantic import BaseModel, Field

from village_brain.api.auth import ADMIN, unauthorized
from village_brain.api.context import ApiContext, context
from village_brain.core.records import Rejection
from village_brain.core.timefmt import format_ms, now_ms
from village_brain.ingest.codecs.lineprotocol_codec import CONTENT_TYPE as LINE_PROTOCOL
from village_brain.ingest.http_post import HttpIngest
from village_brain.ingest.pipeline import InboundMessage, Outcome
from village_brain.ingest.topics import NATIVE_PREFIX
from village_brain.store.device_tokens import DeviceToken, Kind

router = APIRouter(prefix="/api/v1", tags=["http ingest"])
Ctx = Annotated[ApiContext, Depends(context)]

# How long a throttled or turned-away poster is asked to wait before trying again.
FLOOD_RETRY_AFTER_S = 60
BUSY_RETRY_AFTER_S = 10


class PostedRejection(BaseModel):
    reason: str = Field(description="One of the reasons of PROTOCOL §10.")
    detail: str
    device: str | None
    sensor: str | None


class PostAnswer(BaseModel):
    readings_accepted: int = Field(description="Readings committed (repeats included).")
    rejections: list[PostedRejection] = Field(
        description="Everything refused, with its reason; empty with a 200."
    )


class DeviceTokenOut(BaseModel):
    id: int
    kind: Kind
    village: str
    device: str | None = Field(
        description="The device a device token posts for; none for a gateway."
    )
    issued: str
    revoked: str | None


_ANSWERS: dict[int | str, dict[str, Any]] = {
    401: {"description": "No device token, or an unknown or revoked one."},
    403: {"description": "The token may not post for this device or village."},
    413: {"model": PostAnswer, "description": "The body is over ingest.max_payload_bytes."},
    422: {"model": PostAnswer, "description": "Something was refused; see the rejections."},
    429: {"model": PostAnswer, "description": "The flood guard refused readings; Retry-After."},
    503: {"description": "Not committed in time (store down); retry after Retry-After."},
}


def ingest(ctx: Ctx) -> HttpIngest:
    if ctx.http_ingest is None:
        raise HTTPException(404, "this server takes no readings over HTTP")
    return ctx.http_ingest


Ingest = Annotated[HttpIngest, Depends(ingest)]


def device_token(request: Request, doors: Ingest) -> DeviceToken:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise unauthorized("send Authorization: Bearer <device token>")
    grant = doors.tokens.check(token.strip())
    if grant is None:
        raise unauthorized("the device token is unknown or was revoked")
    return grant


Grant = Annotated[DeviceToken, Depends(device_token)]


@router.post(
    "/ingest/{village}/{device}/telemetry",
    response_model=PostAnswer,
    responses=_ANSWERS,
    summary="Post one device's readings (native JSON, SenML JSON or CBOR, line protocol)",
)
async def post_telemetry(
    request: Request,
    response: Response,
    doors: Ingest,
    grant: Grant,
    village: Annotated[str, Path(max_length=64)],
    device: Annotated[str, Path(max_length=64)],
) -> PostAnswer:
    if not grant.allows(village, device):
        raise HTTPException(403, f"this token may not post for {village}/{device}")
    msg = InboundMessage(
        topic=f"{NATIVE_PREFIX}{village}/{device}/telemetry",
        payload=await _body(request, doors.max_body_bytes),
        received_ms=now_ms(),
        content_type=_telemetry_type(request.headers.get("content-type")),
    )
    return _answer(await doors.submit(msg), response)


def _telemetry_type(content_type: str | None) -> str | None:
    """Over HTTP, as at InfluxDB's write API, text/plain is line protocol."""
    if content_type and content_type.split(";", 1)[0].strip().lower() == "text/plain":
        return LINE_PROTOCOL
    return content_type


@router.post(
    "/ingest/webhooks/{source}",
    response_model=PostAnswer,
    responses=_ANSWERS,
    summary="Post a ChirpStack or The Things Stack webhook body to the source named for it",
)
async def post_webhook(
    request: Request,
    response: Response,
    doors: Ingest,
    grant: Grant,
    source: Annotated[str, Path(max_length=64)],
    event: Annotated[
        str, Query(max_length=64, description="The event type: ChirpStack's `?event=up`.")
    ] = "",
) -> PostAnswer:
    if source not in doors.webhook_sources:
        raise HTTPException(404, f"no source {source!r} in [[ingest.sources]] takes webhooks")
    msg = InboundMessage(
        topic=f"http:webhooks/{source}" + (f"?event={event}" if event else ""),
        payload=await _body(request, doors.max_body_bytes),
        received_ms=now_ms(),
        content_type=request.headers.get("content-type"),
        source=source,
        event=event,
        only_village=grant.village,
        only_device=(grant.device or "") if grant.kind == "device" else "",
    )
    return _answer(await doors.submit(msg), response)


@router.get(
    "/device-tokens",
    response_model=list[DeviceTokenOut],
    dependencies=[ADMIN],
    summary="Device tokens for HTTP ingest (never the tokens themselves)",
)
def list_device_tokens(doors: Ingest, revoked: bool = False) -> list[DeviceTokenOut]:
    return [
        DeviceTokenOut(
            id=t.id,
            kind=t.kind,
            village=t.village,
            device=t.device,
            issued=format_ms(t.issued_ms),
            revoked=format_ms(t.revoked_ms) if t.revoked_ms else None,
        )
        for t in doors.tokens.tokens(include_revoked=revoked)
    ]


async def _body(request: Request, limit: int) -> bytes:
    """The body, or its first `limit + 1` bytes: enough for the pipeline to refuse it as too
    large (and count that) without reading all of it."""
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            return bytes(body[: limit + 1])
    return bytes(body)


def _answer(outcome: Outcome | None, response: Response) -> PostAnswer:
    if outcome is None:
        raise HTTPException(
            503,
            "the readings are queued but not yet committed (is the store down?); posting "
            "them again later is safe, repeats are stored once",
            headers={"Retry-After": str(BUSY_RETRY_AFTER_S)},
        )
    reasons = {r.reason for r in outcome.rejections}
    if "payload_too_large" in reasons:
        response.status_code = 413
    elif "rate_limited" in reasons:
        response.status_code = 429
        response.headers["Retry-After"] = str(FLOOD_RETRY_AFTER_S)
    elif reasons:
        response.status_code = 422
    return PostAnswer(
        readings_accepted=len(outcome.readings),
        rejections=[_rejection(r) for r in outcome.rejections],
    )


def _rejection(rejection: Rejection) -> PostedRejection:
    return PostedRejection(
        reason=rejection.reason,
        detail=rejection.detail,
        device=rejection.device,
        sensor=rejection.sensor,
    )
