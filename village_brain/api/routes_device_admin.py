"""Managing devices, for admins: register, edit, approve or refuse the unknown, give access,
decommission.

Secrets (a broker password, a device token) are in the answer that makes them and nowhere
else: only their hashes are kept.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Response
from pydantic import BaseModel, Field, model_validator

from village_brain.api.auth import ADMIN
from village_brain.api.context import ApiContext, context
from village_brain.broker.credentials import hash_password, new_password
from village_brain.core.devices import Device
from village_brain.core.ids import ID_PATTERN
from village_brain.core.timefmt import format_ms, now_ms
from village_brain.store.credentials import CredentialStore
from village_brain.store.device_tokens import DeviceTokenStore
from village_brain.store.registry import DeviceRow

router = APIRouter(prefix="/api/v1/device-admin", tags=["device admin"], dependencies=[ADMIN])
Ctx = Annotated[ApiContext, Depends(context)]
DeviceId = Annotated[str, Path(pattern=ID_PATTERN, description="The device's id.")]
BROKER_NOTE = (
    "run `village-brain broker-files` and reload the broker (SIGHUP) for a new password to "
    "take effect there"
)


class Placement(BaseModel):
    """What a person says about a device: all of it but its id and its sensors."""

    village: str = Field(pattern=ID_PATTERN)
    kind: str = Field("unknown", pattern=ID_PATTERN)
    name: str = Field("", max_length=120)
    place: str = Field("", max_length=120)
    lat: float | None = Field(None, ge=-90, le=90)
    lon: float | None = Field(None, ge=-180, le=180)

    @model_validator(mode="after")
    def both_or_neither(self) -> Placement:
        if (self.lat is None) != (self.lon is None):
            raise ValueError("give both latitude and longitude, or neither")
        return self


class NewDevice(Placement):
    id: str = Field(pattern=ID_PATTERN)


class ApprovalIn(BaseModel):
    """Optional details to register an approved device with; its village is the one it used."""

    kind: str = Field("unknown", pattern=ID_PATTERN)
    name: str = Field("", max_length=120)
    place: str = Field("", max_length=120)


class ManagedDevice(BaseModel):
    id: str
    village: str
    kind: str
    name: str
    place: str
    lat: float | None
    lon: float | None
    sensors: list[str]
    registered_by: str


class PendingOut(BaseModel):
    device: str
    village: str
    first_refused: str
    last_refused: str
    messages: int = Field(description="Messages refused as unknown_device.")
    topic: str = Field(description="A topic it used.")


class DeviceTokenInfo(BaseModel):
    id: int
    issued: str


class AccessOut(BaseModel):
    device: str
    mqtt_username: str
    mqtt_password_issued: str | None = Field(description="When its broker password was made.")
    tokens: list[DeviceTokenInfo] = Field(description="Its HTTP ingest tokens in force.")


class PasswordOut(BaseModel):
    device: str
    mqtt_username: str
    password: str = Field(description="Shown this once only; only its hash is kept.")
    note: str


class NewTokenOut(BaseModel):
    id: int
    device: str
    token: str = Field(description="Send as `Authorization: Bearer ...`; shown this once only.")


@router.get("/pending", response_model=list[PendingOut], summary="Unknown devices refused")
def pending(ctx: Ctx) -> list[PendingOut]:
    return [
        PendingOut(
            device=p.device,
            village=p.village,
            first_refused=format_ms(p.first_ms),
            last_refused=format_ms(p.last_ms),
            messages=p.messages,
            topic=p.topic,
        )
        for p in ctx.registry.pending_devices()
    ]


@router.post(
    "/pending/{device}/approve",
    response_model=ManagedDevice,
    status_code=201,
    summary="Register a pending device in the village it reported from",
)
def approve(ctx: Ctx, device: DeviceId, body: ApprovalIn | None = None) -> ManagedDevice:
    found = next((p for p in ctx.registry.pending_devices() if p.device == device), None)
    if found is None:
        raise HTTPException(404, f"no device {device!r} is waiting for approval")
    details = body or ApprovalIn()
    new = Device(
        id=device,
        village=found.village,
        kind=details.kind,
        name=details.name,
        place=details.place,
        source="api",
    )
    _register(ctx, new)
    return _managed(new)


@router.post("/pending/{device}/refuse", status_code=204, summary="Take it off the list")
def refuse(ctx: Ctx, device: DeviceId) -> Response:
    found = next((p for p in ctx.registry.pending_devices() if p.device == device), None)
    if found is None:
        raise HTTPException(404, f"no device {device!r} is waiting for approval")
    ctx.registry.refuse_pending(device, found.village, now_ms())
    return Response(status_code=204)


@router.post("/devices", response_model=ManagedDevice, status_code=201, summary="Register")
def register(ctx: Ctx, body: NewDevice) -> ManagedDevice:
    if ctx.registry.device(body.id) is not None:
        raise HTTPException(409, f"there is already a device {body.id!r}")
    new = Device(source="api", **body.model_dump())
    _register(ctx, new)
    return _managed(new)


@router.put("/devices/{device}", response_model=ManagedDevice, summary="Edit a device")
def edit(ctx: Ctx, device: DeviceId, body: Placement) -> ManagedDevice:
    row = _find(ctx, device)
    old = row.device
    # Sensors, source and foreign id are what ingest learnt: a person edits the rest.
    new = Device(
        id=old.id,
        sensors=old.sensors,
        source=old.source,
        foreign_id=old.foreign_id,
        **body.model_dump(),
    )
    _register(ctx, new)
    return _managed(new)


@router.get("/devices/{device}/access", response_model=AccessOut, summary="Its credentials")
def access(ctx: Ctx, device: DeviceId) -> AccessOut:
    _find(ctx, device)
    with _credentials(ctx) as credentials:
        issued = credentials.issued_ms(device)
    with _tokens(ctx) as tokens:
        held = [t for t in tokens.tokens() if t.kind == "device" and t.device == device]
    return AccessOut(
        device=device,
        mqtt_username=device,
        mqtt_password_issued=format_ms(issued) if issued is not None else None,
        tokens=[DeviceTokenInfo(id=t.id, issued=format_ms(t.issued_ms)) for t in held],
    )


@router.post(
    "/devices/{device}/mqtt-password",
    response_model=PasswordOut,
    status_code=201,
    summary="Make (or replace) its broker password; shown once",
)
def rotate_password(ctx: Ctx, device: DeviceId) -> PasswordOut:
    _find(ctx, device)
    password = new_password()
    with _credentials(ctx) as credentials:
        credentials.set_hash(device, hash_password(password), now_ms())
    return PasswordOut(device=device, mqtt_username=device, password=password, note=BROKER_NOTE)


@router.post(
    "/devices/{device}/tokens",
    response_model=NewTokenOut,
    status_code=201,
    summary="A new HTTP ingest token for it; shown once",
)
def new_token(ctx: Ctx, device: DeviceId) -> NewTokenOut:
    row = _find(ctx, device)
    with _tokens(ctx) as tokens:
        token_id, token = tokens.issue("device", row.device.village, device, now_ms())
    return NewTokenOut(id=token_id, device=device, token=token)


@router.delete(
    "/devices/{device}/tokens/{token_id}", status_code=204, summary="Revoke one of its tokens"
)
def revoke_token(ctx: Ctx, device: DeviceId, token_id: int) -> Response:
    _find(ctx, device)
    with _tokens(ctx) as tokens:
        mine = any(t.id == token_id and t.device == device for t in tokens.tokens())
        if not mine or not tokens.revoke(token_id, now_ms()):
            raise HTTPException(404, f"device {device!r} holds no token {token_id} in force")
    return Response(status_code=204)


# Last, so that a walk of the API in its order reaches the routes above with the device.
@router.delete("/devices/{device}", status_code=204, summary="Decommission a device")
def decommission(ctx: Ctx, device: DeviceId) -> Response:
    _find(ctx, device)
    with _credentials(ctx) as credentials:
        credentials.remove(device)
    with _tokens(ctx) as tokens:
        now = now_ms()
        for token in tokens.tokens():
            if token.kind == "device" and token.device == device:
                tokens.revoke(token.id, now)
    if ctx.remove_device is not None:
        ctx.remove_device(device)
    else:
        ctx.registry.remove_device(device)
    return Response(status_code=204)


def _find(ctx: ApiContext, device: str) -> DeviceRow:
    row = ctx.registry.device(device)
    if row is None:
        raise HTTPException(404, f"no device {device!r} is registered")
    return row


def _register(ctx: ApiContext, device: Device) -> None:
    if ctx.register_devices is not None:
        ctx.register_devices([device])
    else:
        ctx.registry.upsert_devices([device])


@contextmanager
def _credentials(ctx: ApiContext) -> Iterator[CredentialStore]:
    # Kept beside the registry, as `village-brain devices credentials` keeps them.
    store = CredentialStore(ctx.registry.path)
    try:
        yield store
    finally:
        store.close()


@contextmanager
def _tokens(ctx: ApiContext) -> Iterator[DeviceTokenStore]:
    if ctx.device_tokens is not None:
        yield ctx.device_tokens
        return
    if ctx.http_ingest is not None:
        yield ctx.http_ingest.tokens
        return
    store = DeviceTokenStore(ctx.registry.path)
    try:
        yield store
    finally:
        store.close()


def _managed(device: Device) -> ManagedDevice:
    return ManagedDevice(
        id=device.id,
        village=device.village,
        kind=device.kind,
        name=device.name,
        place=device.place,
        lat=device.lat,
        lon=device.lon,
        sensors=list(device.sensors),
        registered_by=device.source,
    )
