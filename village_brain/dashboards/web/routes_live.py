"""Server-Sent Events: committed readings, presence changes and alerts as they happen.

A stream outlives the request that opened it, so it asks every few seconds whether its caller
may still read: a logout, a revoked token or a removed account ends it, wherever the change was
made (the API, or `village-brain users` on the accounts file). It also ends when the server
stops, so open dashboards never hold up a shutdown.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import StreamingResponse
from fastapi.security import HTTPBearer
from starlette.concurrency import run_in_threadpool

from village_brain.api.auth import SESSION_COOKIE, VIEWER, caller
from village_brain.auth.gate import Principal
from village_brain.dashboards.web.live import LiveHub, sse

router = APIRouter(prefix="/api/v1", tags=["live"], dependencies=[VIEWER])
# A comment line this often keeps proxies from closing a quiet stream and finds dead clients.
KEEP_ALIVE_S = 15.0
OPENING = b"retry: 3000\n: connected\n\n"
KEEP_ALIVE = b": keep-alive\n\n"

_bearer = HTTPBearer(auto_error=False)
StillAllowed = Callable[[], Awaitable[bool]]


@router.get(
    "/live",
    summary="Live feed (text/event-stream): readings, status and alert events",
    response_class=StreamingResponse,
)
async def live(
    request: Request, who: Annotated[Principal | None, Depends(caller)]
) -> StreamingResponse:
    hub: LiveHub = request.app.state.live_hub
    if hub.closing:
        raise HTTPException(503, "the server is stopping; try again in a moment")

    async def still_allowed() -> bool:
        return await _caller_now(request) == who

    return StreamingResponse(
        _stream(hub, still_allowed),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _caller_now(request: Request) -> Principal | None:
    """Who the request's credentials name now; None once they name nobody who may read."""
    bearer = await _bearer(request)
    try:
        return await run_in_threadpool(caller, request, bearer, request.cookies.get(SESSION_COOKIE))
    except HTTPException:
        return None


async def _stream(hub: LiveHub, still_allowed: StillAllowed) -> AsyncIterator[bytes]:
    # Opened here, not in the route, so that a response which never starts leaves nothing behind.
    feed = hub.open(asyncio.get_running_loop())
    try:
        yield OPENING
        checked = quiet = time.monotonic()
        while True:
            batch = await feed.next_batch(hub.recheck_s)
            if feed.ended:
                return
            now = time.monotonic()
            if now - checked >= hub.recheck_s:
                if not await still_allowed():
                    return
                checked = now
            if batch.dropped:
                yield sse("resync", {"dropped": batch.dropped}).data
            for frame in batch.frames:
                yield frame.data
            if batch.frames or batch.dropped:
                quiet = now
            elif now - quiet >= KEEP_ALIVE_S:
                yield KEEP_ALIVE
                quiet = now
    finally:
        hub.close(feed)
