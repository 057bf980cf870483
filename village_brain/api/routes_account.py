"""One's own account: changing one's password, which needs the current one."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Request, Response
from pydantic import BaseModel, Field

from village_brain.api.auth import VIEWER, gate
from village_brain.auth.accounts import AccountError
from village_brain.auth.gate import Principal
from village_brain.auth.hashing import password_matches

router = APIRouter(prefix="/api/v1/account", tags=["users"])


class OwnPasswordIn(BaseModel):
    current: str = Field(min_length=1, max_length=1024)
    new: str = Field(min_length=8, max_length=1024)


@router.put(
    "/password",
    status_code=204,
    summary="Change one's own password; every login of the account ends, this one too",
)
def change_own_password(
    request: Request, who: Annotated[Principal, VIEWER], body: OwnPasswordIn
) -> Response:
    store = gate(request).accounts
    if who.name is None or store is None:
        raise HTTPException(403, "only a logged-in account has a password to change")
    stored = store.password_hash(who.name)
    if stored is None or not password_matches(stored, body.current):
        raise HTTPException(403, "the current password is not right")
    try:
        store.set_password(who.name, body.new)
    except AccountError as exc:
        raise HTTPException(422, str(exc)) from None
    return Response(status_code=204)
