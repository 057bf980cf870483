"""Keys that webhook URLs carry, kept out of logs and stored errors.

Robots take their key in the address: DingTalk's `access_token` and `sign`, WeCom's `key`,
the last part of a Feishu hook's path; Slack- and Discord-style hooks do the same. Anyone
who reads a log line or the outbox must not be able to post as the village's robot.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import urlsplit, urlunsplit

HIDDEN = "…"
# Path parts this long are keys (a Feishu hook's id, a Slack secret), not route names.
_KEY_PART_CHARS = 16
_URL = re.compile(r"https?://[^\s\"'<>]+", re.IGNORECASE)
# httpx logs every request's URL at INFO; httpcore's own records do not carry the query.
_LOGGERS = ("httpx",)


def hide_keys(text: str) -> str:
    """`text` with every URL in it shown without its query values, user info and key-like
    path parts."""
    return _URL.sub(lambda match: _hidden_url(match.group()), text)


def _hidden_url(url: str) -> str:
    try:
        parts = urlsplit(url)
        netloc = parts.netloc.rpartition("@")[2]
    except ValueError:
        return f"{url.split('://', 1)[0]}://{HIDDEN}"
    path = "/".join(HIDDEN if len(p) >= _KEY_PART_CHARS else p for p in parts.path.split("/"))
    names = [pair.partition("=")[0] for pair in parts.query.split("&") if pair]
    query = "&".join(f"{name}={HIDDEN}" for name in names)
    return urlunsplit((parts.scheme, netloc, path, query, ""))


class HideKeys(logging.Filter):
    """Rewrites a record's message with `hide_keys` before any handler sees it."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        hidden = hide_keys(message)
        if hidden != message:
            record.msg, record.args = hidden, None
        return True


def hide_keys_in_http_logs() -> None:
    """Install `HideKeys` on the HTTP client's loggers (once, however often called)."""
    for name in _LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, HideKeys) for f in logger.filters):
            logger.addFilter(HideKeys())
