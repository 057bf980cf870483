"""Commands to devices: send one, follow its lifecycle, list a device's (docs/control.md)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Request, Response
from pydantic import BaseModel, Field

from village_brain.api.auth import OPERATOR, VIEWER
from village_brain.api.context import ApiContext, context
from village_brain.api.queries import DevicePath, Limit
from village_brain.auth.gate import Principal
from village_brain.auth.roles import Role
from village_brain.control.records import Command, CommandRequest, Origin, Refused
from village_brain.control.stage import ControlStage
from village_brain.control.validate import targets_of
from village_brain.core.ids import ID_PATTERN
from village_brain.core.timefmt import format_ms

router = APIRouter(prefix="/api/v1", tags=["commands"], dependencies=[VIEWER])
Ctx = Annotated[ApiContext, Depends(context)]
CommandPath = Annotated[str, Path(pattern=ID_PATTERN, description="A command id.")]


ArgValue = Annotated[str, Field(max_length=500)] | Annotated[float, Field(allow_inf_nan=False)]


class CommandIn(BaseModel):
    target: str = Field(
        max_length=64, description="A controllable sensor type (lamp_state) or an action."
    )
    value: Annotated[str, Field(max_length=64)] | bool | float | None = Field(
        None, description="What to set the target to: on/off, a position; none for actions."
    )
    args: dict[Annotated[str, Field(max_length=64)], ArgValue] = Field(
        {}, max_length=20, description="An action's arguments."
    )
    expires_in: float | None = Field(
        None,
        gt=0,
        le=366 * 86_400,
        allow_inf_nan=False,
        description="Seconds the device has to take it; unset: control.default_expiry.",
    )
    id: str | None = Field(
        None,
        pattern=ID_PATTERN,
        description="Your own id for it: sending the same id again sends nothing new.",
    )
    reason: str = Field("", max_length=500, description="Why, for the audit trail.")
    confirm: bool = Field(False, description="Needed for targets the catalog marks dangerous.")


class StepOut(BaseModel):
    state: str
    time: str
    at_ms: int
    detail: str


class CommandOut(BaseModel):
    id: str
    village: str
    device: str
    target: str
    value: str | float | None
    args: dict[str, object]
    state: str = Field(description="queued, sent, accepted, done, failed, expired or timed_out.")
    final: bool
    created: str
    expires: str
    by: str = Field(description="Who sent it: a user, or schedule:<name>.")
    from_where: str = Field(description="The client address, or the component that sent it.")
    why: str
    new_state: dict[str, object] = Field(description="What the device reported with done.")
    detail: str = Field(description="Why it failed, expired or timed out.")
    steps: list[StepOut]


class TargetOut(BaseModel):
    target: str
    dangerous: bool
    least_role: str
    kind: str = Field(description="boolean, number or action.")
    values: list[str] = Field(description="The words a boolean target takes.")
    min: float | None
    max: float | None


@router.post(
    "/devices/{device}/commands",
    response_model=CommandOut,
    status_code=202,
    summary="Send a command to a device",
    responses={200: {"description": "A repeat of a command id already taken: that command."}},
)
def send_command(
    ctx: Ctx,
    device: DevicePath,
    body: CommandIn,
    request: Request,
    response: Response,
    who: Annotated[Principal, OPERATOR],
) -> CommandOut:
    stage = _stage(ctx)
    needed = Role(stage.least_role(body.target))
    if not who.role.covers(needed):
        raise HTTPException(403, f"commands to {body.target} need the {needed} role")
    if stage.dangerous(body.target) and not body.confirm:
        raise HTTPException(422, f"{body.target} is marked dangerous: send confirm=true")
    command_request = CommandRequest(
        device=device,
        target=body.target,
        value=body.value,
        args=dict(body.args),
        expires_in_ms=None if body.expires_in is None else round(body.expires_in * 1000),
        id=body.id,
    )
    where = request.client.host if request.client else ""
    origin = Origin(by=who.name or f"anonymous {who.role}", where=where, why=body.reason)
    try:
        command, new = stage.send(command_request, origin)
    except Refused as exc:
        raise HTTPException(exc.status, str(exc)) from None
    if not new:
        response.status_code = 200
    return command_out(command)


@router.get("/commands/{command}", response_model=CommandOut, summary="One command's lifecycle")
def get_command(ctx: Ctx, command: CommandPath) -> CommandOut:
    found = _stage(ctx).get(command)
    if found is None:
        raise HTTPException(404, f"there is no command {command!r}")
    return command_out(found)


@router.get(
    "/devices/{device}/commands", response_model=list[CommandOut], summary="A device's commands"
)
def device_commands(ctx: Ctx, device: DevicePath, limit: Limit = 100) -> list[CommandOut]:
    return [command_out(c) for c in _stage(ctx).for_device(device, limit)]


@router.get(
    "/devices/{device}/controls",
    response_model=list[TargetOut],
    summary="What may be commanded on a device",
)
def device_controls(ctx: Ctx, device: DevicePath) -> list[TargetOut]:
    stage = _stage(ctx)
    found = stage.find_device(device)
    if found is None:
        raise HTTPException(404, f"there is no device {device!r}")
    out = []
    for target in targets_of(ctx.catalog, found):
        sensor = ctx.catalog.get(target)
        out.append(
            TargetOut(
                target=target,
                dangerous=stage.dangerous(target),
                least_role=stage.least_role(target),
                kind=sensor.kind if sensor else "action",
                values=(sensor.command_values if sensor else []),
                min=sensor.command_min if sensor else None,
                max=sensor.command_max if sensor else None,
            )
        )
    return out


def _stage(ctx: ApiContext) -> ControlStage:
    if ctx.control is None:
        raise HTTPException(404, "control is switched off on this server (control.enabled)")
    return ctx.control


def command_out(command: Command) -> CommandOut:
    return CommandOut(
        id=command.id,
        village=command.village,
        device=command.device,
        target=command.target,
        value=command.value,
        args=command.args,
        state=command.state,
        final=command.final,
        created=format_ms(command.created_ms),
        expires=format_ms(command.expires_ms),
        by=command.origin.by,
        from_where=command.origin.where,
        why=command.origin.why,
        new_state=command.new_state,
        detail=command.detail,
        steps=[
            StepOut(state=s.state, time=format_ms(s.at_ms), at_ms=s.at_ms, detail=s.detail)
            for s in command.steps
        ],
    )
