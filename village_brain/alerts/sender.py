"""One delivery attempt: the channel kind's notifier builds the request, we send it, and the
notifier judges the answer."""

from __future__ import annotations

import httpx

from village_brain.alerts.notifiers import NOTIFIERS
from village_brain.alerts.notifiers.base import failed
from village_brain.alerts.records import AttemptResult, Delivery, Mention, Webhook
from village_brain.alerts.targets import TargetRefused, check_url

NOBODY = Mention()


def attempt(
    client: httpx.Client,
    webhook: Webhook,
    delivery: Delivery,
    now_ms: int,
    mention: Mention = NOBODY,
    language: str = "zh",
) -> AttemptResult:
    return attempt_batch(client, webhook, [delivery], now_ms, mention, language)


def attempt_batch(
    client: httpx.Client,
    webhook: Webhook,
    rows: list[Delivery],
    now_ms: int,
    mention: Mention = NOBODY,
    language: str = "zh",
) -> AttemptResult:
    """One try of one message carrying `rows`. `client` is a transport.delivery_client,
    which checks where it connects."""
    notifier = NOTIFIERS.get(webhook.kind)
    if notifier is None:
        return failed(None, f"no notifier for channels of kind {webhook.kind!r}")
    try:
        check_url(webhook.url)
        request = notifier.request(webhook, rows, mention, language, now_ms)
        response = client.post(request.url, content=request.body, headers=request.headers)
        return notifier.judge(response)
    except TargetRefused as exc:
        return failed(None, str(exc))
    except httpx.TimeoutException:
        return failed(None, "the receiver did not answer in time")
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        return failed(None, f"{type(exc).__name__}: {exc}")
