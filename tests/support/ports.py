"""Free TCP ports for test servers, so tests never collide with a broker already running."""

from __future__ import annotations

from village_brain.broker.ports import pick_free_port


def free_port(host: str = "127.0.0.1") -> int:
    return pick_free_port(host)
