"""Real HTTP receivers on loopback: they record what arrives and answer as told."""

from __future__ import annotations

import json
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import msgspec

# An answer: status code and JSON body.
Answer = tuple[int, Any]


class Received(msgspec.Struct, frozen=True):
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class Receiver:
    """A webhook receiver; `answer(n)` decides the reply to the n-th request (from 1). With
    `tls`, it speaks HTTPS with that server context."""

    def __init__(
        self,
        answer: Callable[[int], Answer] | None = None,
        delay_s: float = 0.0,
        port: int = 0,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.answer = answer or (lambda _n: (200, {"ok": True}))
        self.delay_s = delay_s
        self.received: list[Received] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self._server.daemon_threads = True
        if tls is not None:
            self._server.socket = tls.wrap_socket(self._server.socket, server_side=True)
        self.port = self._server.server_address[1]
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}/hook"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> Receiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def bodies(self) -> list[Any]:
        with self._lock:
            return [r.json() for r in self.received]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                body = self.rfile.read(length)
                parts = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                headers = {k.lower(): v for k, v in self.headers.items()}
                with receiver._lock:
                    receiver.received.append(Received(parts.path, query, headers, body))
                    count = len(receiver.received)
                if receiver.delay_s:
                    time.sleep(receiver.delay_s)
                status, reply = receiver.answer(count)
                data = json.dumps(reply).encode()
                try:
                    self.send_response(status)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass  # the sender gave up waiting

            def log_message(self, *_args: Any) -> None:
                pass

        return Handler


@contextmanager
def receiving(
    answer: Callable[[int], Answer] | None = None,
    delay_s: float = 0.0,
    port: int = 0,
    tls: ssl.SSLContext | None = None,
) -> Iterator[Receiver]:
    receiver = Receiver(answer, delay_s, port, tls).start()
    try:
        yield receiver
    finally:
        receiver.stop()


def fail_first(times: int, status: int = 500) -> Callable[[int], Answer]:
    return lambda n: (status, {"error": "busy"}) if n <= times else (200, {"ok": True})


def closed_port() -> int:
    """A loopback port with nothing listening: connections are refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
