"""Small TCP helpers: is a port free, find a free one, wait until one answers."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable


def port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # Match what a server does, so a port in TIME_WAIT still counts as free.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def pick_free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


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
            with socket.create_connection((host, port), timeout=0.2):
                return True
        except OSError:
            time.sleep(0.02)
    return False
