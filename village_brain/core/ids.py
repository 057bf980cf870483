"""The id rule for villages, devices and sensor types: 1–64 chars of [a-z0-9_-]."""

from __future__ import annotations

import re

ID_PATTERN = r"^[a-z0-9_-]{1,64}$"
_ID = re.compile(ID_PATTERN)


def id_problem(kind: str, text: str) -> str | None:
    """Return why `text` is not a valid id, or None when it is."""
    if _ID.match(text):
        return None
    if not text:
        return f"{kind} id is empty"
    if len(text) > 64:
        return f"{kind} id is {len(text)} characters long; at most 64 are allowed"
    bad = sorted({ch for ch in text if not _ID.match(ch)})
    shown = "".join(bad)[:10]
    return f"{kind} id {text[:64]!r} has characters outside [a-z0-9_-]: {shown!r}"
