"""Stored event data made safe to answer with: an object of modest depth, or else its text.

The response serialiser gives up on objects nested about 255 deep, and JSON cannot carry
NaN or infinity; a row stored before ingest checked for these must still be readable.
"""

from __future__ import annotations

import json
import math
from typing import Any

MAX_DEPTH = 64
MAX_TEXT_CHARS = 2000


def shown_data(data_json: str) -> tuple[dict[str, Any], str | None]:
    """The data as an object and None; or {} and its text, cut short, when it cannot be one."""
    try:
        value = json.loads(data_json, parse_constant=_refuse, parse_float=_finite)
    except (ValueError, RecursionError):
        return {}, _cut(data_json)
    if not isinstance(value, dict) or _deeper_than(value, MAX_DEPTH):
        return {}, _cut(data_json)
    return value, None


def _refuse(name: str) -> float:
    raise ValueError(f"{name} is not JSON")


def _finite(text: str) -> float:
    number = float(text)
    if math.isinf(number):
        raise ValueError(f"{text} is too large for a JSON number")
    return number


def _deeper_than(value: object, limit: int) -> bool:
    # A loop, not recursion: the point is to survive what recursion does not.
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            item = list(item.values())
        if isinstance(item, list):
            if depth > limit:
                return True
            stack.extend((child, depth + 1) for child in item)
    return False


def _cut(text: str) -> str:
    if len(text) <= MAX_TEXT_CHARS:
        return text
    return text[:MAX_TEXT_CHARS] + f"… ({len(text) - MAX_TEXT_CHARS:,} more characters)"
