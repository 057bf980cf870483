"""Every error the API gives is a JSON body with a readable message, the unexpected ones too."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)
UNEXPECTED = "the server failed to answer this request; the reason is in its log"


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_middleware(AnswerUnexpectedErrors)


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    return JSONResponse(
        {"error": str(exc.detail)}, status_code=exc.status_code, headers=exc.headers
    )


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    parts = []
    for error in exc.errors():
        where = " ".join(str(p) for p in error["loc"])
        parts.append(f"{where}: {error['msg']}")
    return JSONResponse({"error": "; ".join(parts)}, status_code=422)


class AnswerUnexpectedErrors:
    """Answers an error no handler took with a JSON 500, and logs it with its traceback.

    Starlette's last resort answers in plain text and raises the error on to the server,
    which then drops the connection; here the error ends with the answer.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watched)
        except Exception:
            if started:
                # Half an answer is out; only the server can end it, by closing.
                raise
            log.exception("unexpected error answering %s %r", scope["method"], scope["path"])
            await JSONResponse({"error": UNEXPECTED}, status_code=500)(scope, receive, send)
