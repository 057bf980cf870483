"""Readings posted over HTTP, with the promise MQTT makes: answered only once committed.

A request becomes an InboundMessage like any MQTT message, so the same rules decide what
is stored; it carries a hook the writer calls with the message's outcome after the commit,
and the request waits for that. A request that waits longer than `wait_s` (the store is
down) is told to come back: its message stays queued and is committed when the store
returns, and posting it again is safe, as repeats are stored once (PROTOCOL §9).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Collection

from village_brain.ingest.pipeline import InboundMessage, Outcome
from village_brain.store.device_tokens import DeviceTokenStore

Post = Callable[[InboundMessage], None]


class HttpIngest:
    def __init__(
        self,
        post: Post,
        tokens: DeviceTokenStore,
        max_body_bytes: int,
        wait_s: float,
        webhook_sources: Collection[str],
    ) -> None:
        self.post = post
        self.tokens = tokens
        self.max_body_bytes = max_body_bytes
        self.wait_s = wait_s
        self.webhook_sources = frozenset(webhook_sources)

    async def submit(self, msg: InboundMessage) -> Outcome | None:
        """The outcome once committed, or None when that took longer than `wait_s`."""
        loop = asyncio.get_running_loop()
        committed: asyncio.Future[Outcome] = loop.create_future()

        def done(outcome: Outcome) -> None:
            # The server's loop may have closed while the store was down: nobody waits then.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_settle, committed, outcome)

        self.post(
            InboundMessage(
                topic=msg.topic,
                payload=msg.payload,
                received_ms=msg.received_ms,
                content_type=msg.content_type,
                source=msg.source,
                event=msg.event,
                only_village=msg.only_village,
                only_device=msg.only_device,
                done=done,
            )
        )
        try:
            return await asyncio.wait_for(asyncio.shield(committed), self.wait_s)
        except TimeoutError:
            return None


def _settle(future: asyncio.Future[Outcome], outcome: Outcome) -> None:
    if not future.done():
        future.set_result(outcome)
