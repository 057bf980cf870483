"""An alert change as the outbox rows the notification policy routes it to.

Shared by the alert engine (evaluation and staff actions in one process) and the alert desk
(staff actions in an api process), so a change is worded and routed the same in both.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from village_brain.alerts.channel_watch import CHANNEL_KIND
from village_brain.alerts.messages import Context, render
from village_brain.alerts.payloads import EVENT_TYPE, event_body
from village_brain.alerts.policy import Policy
from village_brain.alerts.records import Alert, Outgoing, TimelineEntry, Webhook
from village_brain.alerts.rules import Rule
from village_brain.core.catalog import Catalog
from village_brain.core.devices import Device


def outgoing(
    notify: Policy,
    catalog: Catalog,
    dashboard_url: str,
    alert: Alert,
    entry: TimelineEntry,
    described: dict[str, Any],
    rule: Rule | None,
    device: Device | None,
    webhooks: Iterable[Webhook],
) -> list[Outgoing]:
    """The rows for one change (none for a kind that notifies nobody). A failing channel's
    own alert goes through the other channels. Silences are the caller's to judge."""
    if entry.kind not in EVENT_TYPE:
        return []
    context = Context(notify.language, notify.time_zone, dashboard_url)
    text = render(alert, entry, rule, device, catalog, context)
    body = event_body(described, entry, text)
    hooks = [w for w in webhooks if not (alert.kind == CHANNEL_KIND and alert.subject == w.id)]
    return notify.outgoing(alert, entry, body, hooks)
