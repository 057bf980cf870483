"""One delivery attempt: build the request for the webhook's kind, send it, judge the answer."""

from __future__ import annotations

import json

import httpx

from village_brain.alerts.chat import FORMATTERS, refusal
from village_brain.alerts.records import AttemptResult, Delivery, Webhook
from village_brain.alerts.redact import hide_keys
from village_brain.alerts.signing import standard_signature
from village_brain.alerts.targets import TargetRefused, check_url

ERROR_CHARS = 300


def attempt(
    client: httpx.Client, webhook: Webhook, delivery: Delivery, now_ms: int
) -> AttemptResult:
    """One try. `client` is a transport.delivery_client, which checks where it connects."""
    try:
        check_url(webhook.url)
        if webhook.kind == "standard":
            return _standard(client, webhook, delivery, now_ms)
        return _robot(client, webhook, delivery, now_ms)
    except TargetRefused as exc:
        return _failed(None, str(exc))
    except httpx.TimeoutException:
        return _failed(None, "the receiver did not answer in time")
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        return _failed(None, f"{type(exc).__name__}: {exc}")


def _failed(status: int | None, error: str) -> AttemptResult:
    # Stored and shown in the API: never with the keys a robot's URL carries.
    return AttemptResult(False, status, hide_keys(error)[:ERROR_CHARS])


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
    return _failed(response.status_code, _http_error(response))


def _robot(
    client: httpx.Client, webhook: Webhook, delivery: Delivery, now_ms: int
) -> AttemptResult:
    url, message = FORMATTERS[webhook.kind](
        webhook.url, webhook.secret, json.loads(delivery.body), now_ms
    )
    response = client.post(url, json=message)
    if not response.is_success:
        return _failed(response.status_code, _http_error(response))
    try:
        problem = refusal(response.json())
    except ValueError:
        problem = "the robot did not answer with JSON"
    if problem is not None:
        return _failed(response.status_code, problem)
    return AttemptResult(True, response.status_code)


def _http_error(response: httpx.Response) -> str:
    return f"HTTP {response.status_code}: {response.text[:ERROR_CHARS]}".rstrip(": ")
