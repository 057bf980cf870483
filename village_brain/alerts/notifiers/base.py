"""What every notifier is: it turns outbox rows into one request and judges the answer."""

from __future__ import annotations

import json
from typing import Any, Protocol

import httpx
import msgspec

from village_brain.alerts.messages import Rendered, merged
from village_brain.alerts.records import AttemptResult, Delivery, Mention, Webhook
from village_brain.alerts.redact import hide_keys

ERROR_CHARS = 300
# Each robot message names the outbox rows it carries, so a proxy or a test can tell repeats.
DELIVERY_HEADER = "x-village-brain-delivery"


class Request(msgspec.Struct, frozen=True):
    url: str
    body: bytes
    headers: dict[str, str] = {}


class Notifier(Protocol):
    kind: str
    rate_per_minute: int  # the channel's own limit; 0: none
    max_per_message: int  # alert changes one message may carry
    min_gap_ms: int  # least time between two messages (Feishu: 5 a second)

    def request(
        self, webhook: Webhook, rows: list[Delivery], mention: Mention, language: str, now_ms: int
    ) -> Request: ...

    def judge(self, response: httpx.Response) -> AttemptResult: ...


def data_of(row: Delivery) -> dict[str, Any]:
    return json.loads(row.body)["data"]


def text_of(rows: list[Delivery], language: str) -> tuple[str, list[str]]:
    """The title and lines of the message for `rows`: one alert's text, or a numbered list."""
    rendered = [_rendered(data_of(row)) for row in rows]
    return merged(rendered, language)


def _rendered(data: dict[str, Any]) -> Rendered:
    name = str(data.get("rule_name", ""))
    return Rendered(
        str(data.get("title") or name),
        tuple(data.get("lines") or ()),
        str(data.get("summary") or name),
    )


def delivery_header(rows: list[Delivery]) -> dict[str, str]:
    return {DELIVERY_HEADER: " ".join(r.delivery_key or r.msg_id for r in rows)}


def json_request(url: str, message: Any, rows: list[Delivery]) -> Request:
    headers = {"content-type": "application/json", **delivery_header(rows)}
    return Request(url, json.dumps(message, ensure_ascii=False).encode(), headers)


def failed(status: int | None, error: str) -> AttemptResult:
    # Stored and shown in the API: never with the keys a robot's URL carries.
    return AttemptResult(False, status, hide_keys(error)[:ERROR_CHARS])


def http_error(response: httpx.Response) -> str:
    return f"HTTP {response.status_code}: {response.text[:ERROR_CHARS]}".rstrip(": ")


def judge_robot(response: httpx.Response) -> AttemptResult:
    """Robots answer HTTP 200 with an error code in the body when they refuse a message."""
    if not response.is_success:
        return failed(response.status_code, http_error(response))
    try:
        problem = refusal(response.json())
    except ValueError:
        problem = "the robot did not answer with JSON"
    if problem is not None:
        return failed(response.status_code, problem)
    return AttemptResult(True, response.status_code)


def refusal(answer: Any) -> str | None:
    """The robot's reason for refusing a message, or None when it took it."""
    if not isinstance(answer, dict):
        return "the robot did not answer with JSON"
    code = answer.get("errcode", answer.get("code", answer.get("StatusCode", 0)))
    if code in (0, None):
        return None
    reason = answer.get("errmsg") or answer.get("msg") or answer.get("StatusMessage") or ""
    return f"the robot refused the message: {code} {reason}".strip()


def clip(text: str, max_bytes: int) -> str:
    """`text` cut to the robot's byte limit, on a character boundary."""
    data = text.encode()
    if len(data) <= max_bytes:
        return text
    return data[: max_bytes - 3].decode(errors="ignore") + "…"
