"""One delivery attempt: build the request for the webhook's kind, send it, judge the answer."""

from __future__ import annotations

import json

import httpx

from village_brain.alerts.chat import FORMATTERS, refusal
from village_brain.alerts.records import AttemptResult, Delivery, Webhook
from village_brain.alerts.signing import standard_signature
from village_brain.alerts.targets import TargetRefused, check_target

ERROR_CHARS = 300


def attempt(
    client: httpx.Client, webhook: Webhook, delivery: Delivery, now_ms: int, allow_private: bool
) -> AttemptResult:
    try:
        check_target(webhook.url, allow_private)
        if webhook.kind == "standard":
            return _standard(client, webhook, delivery, now_ms)
        return _robot(client, webhook, delivery, now_ms)
    except TargetRefused as exc:
        return AttemptResult(False, error=str(exc))
    except httpx.TimeoutException:
        return AttemptResult(False, error="the receiver did not answer in time")
    except httpx.HTTPError as exc:
        return AttemptResult(False, error=f"{type(exc).__name__}: {exc}"[:ERROR_CHARS])


def _standard(
    client: httpx.Client, webhook: Webhook, delivery: Delivery, now_ms: int
) -> AttemptResult:
    body = delivery.body.encode()
    now_s = now_ms // 1000
    headers = {
        "content-type": "application/json",
        "webhook-id": delivery.msg_id,
        "webhook-timestamp": str(now_s),
        "webhook-signature": standard_signature(webhook.secret, delivery.msg_id, now_s, body),
    }
    response = client.post(webhook.url, content=body, headers=headers)
    if response.is_success:
        return AttemptResult(True, response.status_code)
    return AttemptResult(False, response.status_code, _http_error(response))


def _robot(
    client: httpx.Client, webhook: Webhook, delivery: Delivery, now_ms: int
) -> AttemptResult:
    url, message = FORMATTERS[webhook.kind](
        webhook.url, webhook.secret, json.loads(delivery.body), now_ms
    )
    response = client.post(url, json=message)
    if not response.is_success:
        return AttemptResult(False, response.status_code, _http_error(response))
    try:
        problem = refusal(response.json())
    except ValueError:
        problem = "the robot did not answer with JSON"
    return AttemptResult(problem is None, response.status_code, problem)


def _http_error(response: httpx.Response) -> str:
    return f"HTTP {response.status_code}: {response.text[:ERROR_CHARS]}".rstrip(": ")
