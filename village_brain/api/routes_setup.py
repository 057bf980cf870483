"""Making the first admin through the one-time link the server logs while it has none."""

from __future__ import annotations

import logging

from fastapi import APIRouter, HTTPException, Request, Response
from pydantic import BaseModel, Field

from village_brain.api.auth import check_origin, gate
from village_brain.api.routes_auth import MeOut, me_out, set_session_cookie
from village_brain.auth.accounts import AccountError
from village_brain.auth.setup import SetupClosed
from village_brain.core.timefmt import now_ms

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/v1/auth/setup", tags=["auth"])


class SetupState(BaseModel):
    open: bool = Field(description="Whether this token still makes the first admin.")


class FirstAdminIn(BaseModel):
    token: str = Field(min_length=1, max_length=128)
    name: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


@router.get("", response_model=SetupState, summary="Whether a first-admin link still works")
def setup_state(request: Request, token: str = "") -> SetupState:
    setup = gate(request).setup
    return SetupState(open=setup is not None and setup.is_open(token))


@router.post(
    "",
    response_model=MeOut,
    status_code=201,
    summary="Make the first admin with the link's token, and log in as them",
    responses={410: {"description": "The link was used, is old, or an admin exists."}},
)
def create_first_admin(request: Request, response: Response, body: FirstAdminIn) -> MeOut:
    check_origin(request)
    doors = gate(request)
    if doors.setup is None:
        raise HTTPException(410, "this server has an admin already; log in instead")
    try:
        account = doors.setup.create_admin(body.token, body.name, body.password, now_ms())
    except SetupClosed as exc:
        raise HTTPException(410, str(exc)) from None
    except AccountError as exc:
        raise HTTPException(422, str(exc)) from None
    address = request.client.host if request.client else "unknown"
    log.info("setup: first admin %r made from %s; the link no longer works", body.name, address)
    who = doors.start_session(account)
    set_session_cookie(request, response, who)
    return me_out(who)
