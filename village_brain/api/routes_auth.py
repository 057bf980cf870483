"""Logging in and out of the dashboard, and asking who one is."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from pydantic import BaseModel, Field

from village_brain.api.auth import (
    SESSION_COOKIE,
    VIEWER,
    caller,
    check_origin,
    gate,
)
from village_brain.auth.gate import (
    LoginBusy,
    LoginRefused,
    LoginThrottled,
    Principal,
    csrf_token,
)

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


class LoginIn(BaseModel):
    name: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


class MeOut(BaseModel):
    name: str | None = Field(description="The account; null for a visitor who has not logged in.")
    role: str = Field(description="viewer, operator or admin.")
    anonymous: bool
    csrf_token: str | None = Field(
        None, description="Send as X-CSRF-Token with changes made with the login cookie."
    )


@router.post("/login", response_model=MeOut, summary="Log in; sets the session cookie")
def login(request: Request, response: Response, body: LoginIn) -> MeOut:
    check_origin(request)
    address = request.client.host if request.client else "unknown"
    doors = gate(request)
    try:
        who = doors.login(body.name, body.password, address)
    except (LoginThrottled, LoginBusy) as exc:
        headers = {"Retry-After": str(exc.retry_after_s)}
        raise HTTPException(429, str(exc), headers=headers) from None
    except LoginRefused:
        raise HTTPException(401, "wrong name or password") from None
    set_session_cookie(request, response, who)
    return me_out(who)


def set_session_cookie(request: Request, response: Response, who: Principal) -> None:
    doors = gate(request)
    assert who.session is not None
    response.set_cookie(
        SESSION_COOKIE,
        who.session,
        max_age=doors.session_lifetime_s,
        httponly=True,
        samesite="strict",
        secure=_secure(request, doors.settings.secure_cookie),
    )


@router.post("/logout", status_code=204, summary="End this dashboard login")
def logout(request: Request, who: Annotated[Principal | None, Depends(caller)]) -> Response:
    if who is not None and who.session is not None:
        gate(request).logout(who.session)
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, httponly=True, samesite="strict")
    return response


@router.get("/me", response_model=MeOut, summary="Who is asking, and with which role")
def me(who: Annotated[Principal, VIEWER]) -> MeOut:
    return me_out(who)


def me_out(who: Principal) -> MeOut:
    return MeOut(
        name=who.name,
        role=who.role.value,
        anonymous=who.anonymous,
        csrf_token=csrf_token(who.session) if who.session else None,
    )


def _secure(request: Request, setting: str) -> bool:
    if setting == "auto":
        return request.url.scheme == "https"
    return setting == "always"
