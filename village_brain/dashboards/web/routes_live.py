"""Server-Sent Events: committed readings, presence changes and alerts as they happen."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from village_brain.api.auth import VIEWER
from village_brain.dashboards.web.live import ClientFeed, LiveHub

router = APIRouter(prefix="/api/v1", tags=["live"], dependencies=[VIEWER])
# A comment line this often keeps proxies from closing a quiet stream and finds dead clients.
KEEP_ALIVE_S = 15.0


@router.get(
    "/live",
    summary="Live feed (text/event-stream): readings, status and alert events",
    response_class=StreamingResponse,
)
async def live(request: Request) -> StreamingResponse:
    hub: LiveHub = request.app.state.live_hub
    feed = hub.open(asyncio.get_running_loop())
    return StreamingResponse(
        _stream(hub, feed),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _stream(hub: LiveHub, feed: ClientFeed) -> AsyncIterator[str]:
    try:
        yield "retry: 3000\n: connected\n\n"
        while True:
            events, dropped = await feed.next_batch(KEEP_ALIVE_S)
            if dropped:
                yield sse("resync", {"dropped": dropped})
            for kind, payload in events:
                yield sse(kind, payload)
            if not events and not dropped:
                yield ": keep-alive\n\n"
    finally:
        hub.close(feed)


def sse(kind: str, payload: dict[str, Any]) -> str:
    data = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), default=str)
    return f"event: {kind}\ndata: {data}\n\n"
