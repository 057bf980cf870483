"""Serving HTTP until told to stop, then stopping in order.

Left to itself, `uvicorn.run` takes SIGINT and SIGTERM, waits without end for responses that
never finish (the dashboard's live feeds), then raises the signal again, which kills the
process before the service has drained ingest and closed its stores. So here the main thread
owns the signals, uvicorn runs in a thread of its own, and stopping it first ends the live
feeds, then gives any other request in flight a few seconds. A feed whose client stopped
reading waits on a write and cannot see the stop: uvicorn cancels it once those seconds are up.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from types import FrameType, TracebackType
from typing import Any

import uvicorn
from fastapi import FastAPI

from village_brain.core.config import ConfigError

log = logging.getLogger(__name__)

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
# Requests still running this long after a stop began are cancelled.
GRACE_S = 5.0


class _NoTracebackForCancelled(logging.Filter):
    """uvicorn logs a traceback for every response it cancels at the end of a graceful stop,
    after a line that says how many it cancelled; that line is enough."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], asyncio.CancelledError))


_quiet_cancellations = _NoTracebackForCancelled()


class HttpServer:
    """The API and dashboard on HOST:PORT, served from a thread until `stop()`."""

    def __init__(self, app: FastAPI, host: str, port: int, grace_s: float = GRACE_S) -> None:
        self.app = app
        self.host, self.port = host, port
        self.grace_s = grace_s
        config = uvicorn.Config(
            app, host=host, port=port, log_level="warning", timeout_graceful_shutdown=grace_s
        )
        logging.getLogger("uvicorn.error").addFilter(_quiet_cancellations)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._run, name="http", daemon=True)
        self.finished = threading.Event()

    def start(self) -> None:
        self._thread.start()
        while not self._server.started:
            if self.finished.wait(0.02):
                raise ConfigError(
                    f"the API could not listen on {self.host}:{self.port} (see above); stop "
                    "what uses that port, or choose another with --http HOST:PORT"
                )
        # Port 0 asks the system for a free port: from here on, `port` is the one it gave.
        self.port = self._bound_port() or self.port

    def _bound_port(self) -> int | None:
        for server in self._server.servers:
            for sock in server.sockets:
                return int(sock.getsockname()[1])
        return None

    def stop(self) -> None:
        if not self._thread.is_alive():
            return
        hub = getattr(self.app.state, "live_hub", None)
        if hub is not None:
            hub.shut()
        self._server.should_exit = True
        self._thread.join(self.grace_s + 10)
        if self._thread.is_alive():
            log.warning("the HTTP server did not stop in time; going on without it")

    def hurry(self) -> None:
        """Stop waiting for requests in flight."""
        self._server.force_exit = True

    def _run(self) -> None:
        try:
            self._server.run()
        except SystemExit:
            pass  # uvicorn's way of saying it could not start; it logged why, start() reports it
        finally:
            self.finished.set()


class StopSignals:
    """While active, SIGINT (Ctrl-C) and SIGTERM (`systemctl stop`) ask for a graceful stop.

    The handlers only set flags: they run between two bytecodes of the main thread, where
    waiting for a lock the main thread holds (a threading.Event's, say) would hang the process.
    """

    def __init__(self) -> None:
        self.received: str | None = None
        self.http: HttpServer | None = None
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> StopSignals:
        self._previous = {sig: signal.signal(sig, self._note) for sig in STOP_SIGNALS}
        return self

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _traceback: TracebackType | None,
    ) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)

    def wait(self, http: HttpServer) -> str | None:
        """Until a stop signal (its name) or the HTTP server ending by itself (None)."""
        self.http = http
        while self.received is None and not http.finished.wait(0.2):
            pass
        return self.received

    def _note(self, signum: int, _frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        if self.received is None:
            self.received = name
            return
        # A second signal: still stop in order, but without waiting for slow requests.
        if self.http is not None:
            self.http.hurry()
        log.warning("%s: already stopping; open requests are no longer waited for", name)
