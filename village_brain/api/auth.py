"""The dependencies that guard routes: who is calling, and whether their role is enough.

A bearer token is checked first; then the dashboard's session cookie, with which anything but
a read also needs the CSRF header and, when the browser names one, our own Origin, since a
browser sends cookies along with requests that other sites make it send.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import Depends, HTTPException, Request
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer

from village_brain.auth.gate import Gate, Principal, csrf_token
from village_brain.auth.roles import Role

SESSION_COOKIE = "vb_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

_bearer = HTTPBearer(auto_error=False, description="An API token from `village-brain users token`.")
_cookie = APIKeyCookie(name=SESSION_COOKIE, auto_error=False, description="Dashboard login.")


def gate(request: Request) -> Gate:
    return request.app.state.ctx.auth


def caller(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    session: Annotated[str | None, Depends(_cookie)],
) -> Principal | None:
    """Who is calling; None when nobody logged in and visitors may not read."""
    doors = gate(request)
    if bearer is not None:
        who = doors.from_token(bearer.credentials)
        if who is None:
            raise unauthorized("the token is unknown or was revoked")
        return who
    who = doors.from_session(session) if session else None
    if who is None:
        return doors.nobody()
    if request.method not in SAFE_METHODS:
        check_csrf(request, session or "")
    return who


def check_csrf(request: Request, session: str) -> None:
    sent = request.headers.get(CSRF_HEADER, "")
    if not hmac.compare_digest(sent.encode(), csrf_token(session).encode()):
        raise HTTPException(
            403, f"a change made with a login cookie needs the {CSRF_HEADER} header"
        )
    check_origin(request)


def check_origin(request: Request) -> None:
    origin = request.headers.get("origin")
    # Scripts send no Origin; a browser always does on a POST, and it must be our own host.
    if origin is not None and urlsplit(origin).netloc != request.headers.get("host"):
        raise HTTPException(403, "this request came from another site")


def unauthorized(message: str) -> HTTPException:
    return HTTPException(401, message, headers={"WWW-Authenticate": "Bearer"})


def require(role: Role) -> Callable[..., Principal]:
    def check(who: Annotated[Principal | None, Depends(caller)]) -> Principal:
        if who is None:
            raise unauthorized("log in, or send Authorization: Bearer <token>")
        if not who.role.covers(role):
            raise HTTPException(403, f"this needs the {role} role; you have {who.role}")
        return who

    check.__name__ = f"needs_{role}"
    return check


VIEWER: Any = Depends(require(Role.VIEWER))
OPERATOR: Any = Depends(require(Role.OPERATOR))
ADMIN: Any = Depends(require(Role.ADMIN))
Caller = Annotated[Principal, VIEWER]
