"""Small TCP helpers: can we listen on a port, find a free one, wait until one answers."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable

_WILDCARDS = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}


def listen_problem(host: str, port: int) -> OSError | None:
    """Why a server could not listen on host:port now (in use, not our address...), or None."""
    try:
        family, _, _, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            # Match what a server does, so a port in TIME_WAIT still counts as free.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(address)
    except OSError as exc:  # gaierror included: a host name that does not resolve
        return exc
    return None


def port_is_free(host: str, port: int) -> bool:
    return listen_problem(host, port) is None


def pick_free_port(host: str = "127.0.0.1") -> int:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def connectable_host(host: str) -> str:
    """Where a client on this machine reaches a server listening on `host`."""
    return _WILDCARDS.get(host, host)


def wait_until_accepting(
    host: str,
    port: int,
    timeout: float,
    still_starting: Callable[[], bool] = lambda: True,
) -> bool:
    """Poll until host:port accepts a TCP connection.

    Returns False as soon as `still_starting` says the server gave up, or when
    the timeout passes.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not still_starting():
            return False
        try:
            with socket.create_connection((connectable_host(host), port), timeout=0.2):
                return True
        except OSError:
            time.sleep(0.02)
    return False
