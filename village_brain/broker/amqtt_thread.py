"""Run an amqtt broker in a background thread with its own asyncio loop."""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

from village_brain.broker.amqtt_mqtt5_refusal import Mqtt311Broker
from village_brain.broker.ports import connectable_host
from village_brain.core.hostport import join_host_port

logger = logging.getLogger(__name__)


class AmqttError(RuntimeError):
    """The amqtt broker could not be started."""


class AmqttThread:
    """amqtt listening on host:port; everything it holds lives in memory only."""

    def __init__(self, host: str, port: int, session_expiry_seconds: int | None = None) -> None:
        self.host = host
        self.port = port
        self._session_expiry_seconds = session_expiry_seconds
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_requested: asyncio.Event | None = None
        self._ready = threading.Event()
        self._failure: BaseException | None = None

    @property
    def url(self) -> str:
        """Where clients on this machine reach it (listening on 0.0.0.0 is reached on 127.0.0.1)."""
        return f"mqtt://{join_host_port(connectable_host(self.host), self.port)}"

    def _config(self) -> dict[str, Any]:
        return {
            "listeners": {"default": {"type": "tcp", "bind": join_host_port(self.host, self.port)}},
            "session_expiry_interval": self._session_expiry_seconds,
            "plugins": {"village_brain.broker.amqtt_auth.AcceptAllClients": {}},
        }

    def start(self, timeout: float = 10.0) -> None:
        self._ready.clear()
        self._failure = None
        self._thread = threading.Thread(target=self._run, name="amqtt-broker", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise AmqttError(f"amqtt did not start on {self.host}:{self.port} within {timeout}s")
        if self._failure is not None:
            self._thread.join(timeout)
            raise AmqttError(f"amqtt failed to start on {self.host}:{self.port}: {self._failure}")
        logger.info("amqtt listening on %s", join_host_port(self.host, self.port))

    def stop(self, timeout: float = 10.0) -> None:
        loop, stop_requested, thread = self._loop, self._stop_requested, self._thread
        if loop is not None and stop_requested is not None and not loop.is_closed():
            loop.call_soon_threadsafe(stop_requested.set)
        if thread is not None:
            thread.join(timeout)
            if thread.is_alive():
                logger.warning("amqtt thread did not finish within %.0fs", timeout)
        self._thread = None

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._serve())
        except Exception as exc:
            if self._ready.is_set():
                logger.exception("amqtt broker stopped with an error")
            self._failure = exc
        finally:
            loop.close()
            self._ready.set()

    async def _serve(self) -> None:
        self._stop_requested = asyncio.Event()
        broker = Mqtt311Broker(self._config())
        await broker.start()
        self._ready.set()
        try:
            await self._stop_requested.wait()
        finally:
            await broker.shutdown()
