"""Silences (maintenance windows): make, list and end them; for operators and admins, who
make and end them as their own account. Everyone who may read sees, on each alert, whether
it is silenced."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel, Field

from village_brain.alerts.silences import Matchers, Silence
from village_brain.api.auth import OPERATOR
from village_brain.api.context import ApiContext, context
from village_brain.api.routes_alerts import Alerts, Operator, account, engine
from village_brain.api.schemas import MatchersBody, SilenceOut
from village_brain.core.timefmt import MAX_TIME_MS, format_ms, parse_duration_ms, parse_rfc3339_ms

router = APIRouter(prefix="/api/v1", tags=["silences"], dependencies=[OPERATOR])
Ctx = Annotated[ApiContext, Depends(context)]


class SilenceIn(BaseModel):
    matchers: MatchersBody
    reason: str = Field(min_length=1, max_length=2000, description="Why, for the others.")
    starts: str | None = Field(None, description="RFC 3339; unset: now.")
    ends: str | None = Field(None, description="RFC 3339. Give ends or duration.")
    duration: str | None = Field(None, description="How long from starts, such as 2h or 3d.")


@router.post(
    "/silences",
    status_code=201,
    summary="Silence the alerts that fit the matchers, from starts until ends",
)
def create_silence(ctx: Ctx, who: Operator, body: SilenceIn) -> SilenceOut:
    alerts = engine(ctx)
    matchers = Matchers(**body.matchers.model_dump())
    if not matchers.any_set():
        raise HTTPException(422, "a silence needs at least one matcher; it would mute everything")
    if not body.reason.strip():
        raise HTTPException(422, "say why in reason, for the others who see the silence")
    now = alerts.clock()
    starts, ends = _window(body, now)
    silence = alerts.add_silence(matchers, starts, ends, body.reason.strip(), account(who))
    return silence_out(silence, now)


@router.get("/silences", summary="Silences, newest first")
def list_silences(
    ctx: Ctx, state: Literal["pending", "active", "expired"] | None = None
) -> list[SilenceOut]:
    alerts = engine(ctx)
    now = alerts.clock()
    found = sorted(alerts.silencer.silences(), key=lambda s: s.created_ms, reverse=True)
    return [silence_out(s, now) for s in found if state is None or s.state(now) == state]


@router.get("/silences/{silence_id}", summary="One silence")
def get_silence(ctx: Ctx, silence_id: str) -> SilenceOut:
    alerts = engine(ctx)
    return silence_out(_find(alerts, silence_id), alerts.clock())


@router.post(
    "/silences/{silence_id}/expire",
    summary="End a silence now; alerts it muted that still fire are notified",
)
def expire_silence(ctx: Ctx, who: Operator, silence_id: str) -> SilenceOut:
    alerts = engine(ctx)
    _find(alerts, silence_id)
    return silence_out(alerts.expire_silence(silence_id, account(who)), alerts.clock())


def _find(alerts: Alerts, silence_id: str) -> Silence:
    silence = alerts.silencer.get(silence_id)
    if silence is None:
        raise HTTPException(404, f"no silence {silence_id!r}")
    return silence


def _window(body: SilenceIn, now: int) -> tuple[int, int]:
    if (body.ends is None) == (body.duration is None):
        raise HTTPException(422, "give either ends (a time) or duration (such as 2h)")
    try:
        starts = now if body.starts is None else parse_rfc3339_ms(body.starts)
        if body.duration is not None:
            ends = starts + parse_duration_ms(body.duration)
        else:
            ends = parse_rfc3339_ms(body.ends or "")
    except (ValueError, OverflowError) as exc:
        raise HTTPException(422, str(exc)) from None
    if not 0 <= starts < ends <= MAX_TIME_MS:
        raise HTTPException(422, "the silence must end after it starts, within the years 1970-9999")
    if ends <= now:
        raise HTTPException(422, "the silence would already be over: ends is in the past")
    return starts, ends


def silence_out(silence: Silence, now: int) -> SilenceOut:
    return SilenceOut(
        id=silence.id,
        matchers=MatchersBody.model_validate(msgspec.to_builtins(silence.matchers)),
        state=silence.state(now),
        starts=format_ms(silence.starts_ms),
        starts_ms=silence.starts_ms,
        ends=format_ms(silence.ends_ms),
        ends_ms=silence.ends_ms,
        reason=silence.reason,
        created_by=silence.created_by,
        created=format_ms(silence.created_ms),
        expired_by=silence.expired_by,
    )
