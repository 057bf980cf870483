"""Which program listens on a TCP port, for the message when the broker cannot have it."""

from __future__ import annotations

import psutil


def port_holder(port: int) -> str | None:
    """Like "mosquitto (pid 812)", or "a program of another user"; None when nothing is seen.

    Only the error path asks, so reading every socket of the machine once is cheap enough.
    """
    try:
        listening = [
            conn
            for conn in psutil.net_connections(kind="tcp")
            if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port
        ]
    except (psutil.Error, OSError):  # some systems show other users' sockets only to root
        return None
    if not listening:
        return None
    pid = next((conn.pid for conn in listening if conn.pid is not None), None)
    if pid is None:
        return f"a program of another user (sudo ss -ltnp 'sport = :{port}' names it)"
    try:
        return f"{psutil.Process(pid).name()} (pid {pid})"
    except (psutil.Error, OSError):
        return f"pid {pid}"
