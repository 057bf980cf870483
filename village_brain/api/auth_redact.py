"""Webhook addresses as the API shows them after creation: without the keys they carry.

Robots take their key in the address (DingTalk's access_token, WeCom's key, the last part of a
Feishu hook's path), and plain receivers often do the same; whoever can read the list must not
be able to post as the village's robot.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, quote, urlsplit, urlunsplit

HIDDEN = "…"


def shown_url(url: str, kind: str) -> str:
    parts = urlsplit(url)
    keys = [key for key, _ in parse_qsl(parts.query, keep_blank_values=True)]
    query = "&".join(f"{quote(key)}={HIDDEN}" for key in keys)
    path = parts.path
    if kind == "feishu" and "/" in path.rstrip("/"):
        path = path.rstrip("/").rsplit("/", 1)[0] + "/" + HIDDEN
    netloc = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, netloc, path, query, ""))
