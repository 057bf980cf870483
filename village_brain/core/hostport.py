"""HOST:PORT as users write it in flags and settings (an IPv6 address in brackets: [::]:1883)."""

from __future__ import annotations

_HOW = "write HOST:PORT with a port from {low} to 65535 (an IPv6 address in brackets: [::]:1883)"


def split_host_port(value: str, any_port: bool = False) -> tuple[str, int]:
    """(host, port) of `value`; a ValueError says how to write one.

    With `any_port`, port 0 is allowed: the system picks a free port, and the caller reports
    the one it got.
    """
    low = 0 if any_port else 1
    host, _, port = value.strip().rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host:
        raise ValueError(f"{value!r}: {_HOW.format(low=low)}")
    if not host or not port.isascii() or not port.isdigit() or not low <= int(port) <= 65535:
        raise ValueError(f"{value!r}: {_HOW.format(low=low)}")
    return host, int(port)


def join_host_port(host: str, port: int) -> str:
    """The inverse of split_host_port, as it goes into a URL."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
