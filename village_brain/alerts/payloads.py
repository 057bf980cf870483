"""What a notification says: the alert's message, and the JSON body every webhook gets."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from village_brain.alerts.evaluator import Change
from village_brain.alerts.messages import Rendered
from village_brain.alerts.records import Alert, TimelineEntry
from village_brain.core.catalog import Catalog
from village_brain.core.devices import Device
from village_brain.core.timefmt import format_ms

EVENT_TYPE = {
    "fired": "alert.firing",
    "reminded": "alert.firing",
    "acknowledged": "alert.acknowledged",
    "resolved": "alert.resolved",
}


def message(change: Change, catalog: Catalog) -> str:
    """One line for people: the rule's name and what was seen."""
    rule = change.rule
    if rule.kind == "no_data":
        said = "device reported offline" if change.reason == "offline" else "no data received"
        return f"{rule.name}: {said}"
    if rule.kind == "event":
        return f"{rule.name}: event {change.subject}"
    return f"{rule.name}: {reading_text(change.subject, change.value, catalog)}"


def reading_text(sensor: str, value: float | None, catalog: Catalog) -> str:
    sensor_type = catalog.get(sensor)
    if value is None or sensor_type is None:
        return sensor
    if sensor_type.kind == "boolean":
        words = sensor_type.true_words if value >= 0.5 else sensor_type.false_words
        return f"{sensor} {words[0] if words else bool(value)}"
    return f"{sensor} {round(value, 3):g} {sensor_type.symbol}".rstrip()


def device_link(dashboard_url: str, device: str) -> str:
    return f"{dashboard_url}/devices/{quote(device, safe='')}"


def alert_fields(
    alert: Alert, catalog: Catalog, device: Device | None, dashboard_url: str
) -> dict[str, Any]:
    """The alert as the API, the bus and the webhooks show it."""
    sensor = alert.subject if catalog.get(alert.subject) else None
    sensor_type = catalog.get(sensor) if sensor else None
    return {
        "id": alert.id,
        "state": alert.state,
        "severity": alert.severity,
        "rule_id": alert.rule_id,
        "rule_name": alert.rule_name,
        "kind": alert.kind,
        "subject": alert.subject,
        "message": alert.message,
        "village": alert.village,
        "device": alert.device,
        "device_name": device.name if device else "",
        "place": device.place if device else "",
        "lat": device.lat if device else None,
        "lon": device.lon if device else None,
        "sensor": sensor,
        "event": alert.subject if alert.kind == "event" else None,
        "value": alert.value,
        "unit": sensor_type.unit if sensor_type else None,
        "started": format_ms(alert.started_ms),
        "started_ms": alert.started_ms,
        "updated_ms": alert.updated_ms,
        "acked_by": alert.acked_by,
        "ack_comment": alert.ack_comment,
        "acked": format_ms(alert.acked_ms) if alert.acked_ms else None,
        "resolved": format_ms(alert.resolved_ms) if alert.resolved_ms else None,
        "reminders": alert.reminders,
        "link": device_link(dashboard_url, alert.device),
    }


def event_body(
    fields: dict[str, Any], entry: TimelineEntry, text: Rendered | None = None
) -> dict[str, Any]:
    """The Standard Webhooks shaped body: type, timestamp, data; with the message for people
    (title, lines, summary) in the configured language when `text` is given."""
    data = {**fields, "reminder": entry.kind == "reminded", "comment": entry.comment}
    if entry.kind == "resolved":
        data["resolved_value"] = entry.value
    if text is not None:
        data |= {"title": text.title, "lines": list(text.lines), "summary": text.summary}
    return {"type": EVENT_TYPE[entry.kind], "timestamp": format_ms(entry.at_ms), "data": data}


def msg_id(entry: TimelineEntry) -> str:
    """The same for every attempt of one event, so receivers can drop repeats."""
    return f"msg_alert{entry.alert_id}_{entry.id}"
