"""What similarity and hotspots compare: one sighting of a problem, from a villager's report,
a work item opened for an alert, or a sensor alert nobody has opened work for yet.

Alerts carry no position of their own: theirs is their device's, from the registry.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import msgspec

from village_brain.alerts.records import Alert
from village_brain.core.devices import Device
from village_brain.reports.records import CLOSED, Position, Report, Source, WorkItem


class Sighting(msgspec.Struct, frozen=True):
    ref: str  # "item:12" or "alert:7": unique across both kinds
    source: Source
    title: str
    category: str  # a report category, or an alert's sensor type
    status: str  # the work status, or the alert state for an alert without work
    open: bool
    at_ms: int
    position: Position | None = None
    place: str = ""  # a place named on the plan, when known
    kind: str = ""  # the device kind, for what an alert is about
    device: str = ""
    item_id: int | None = None
    alert_id: int | None = None
    number: str = ""  # the report number villagers quote
    parent_id: int | None = None


def from_item(item: WorkItem, report: Report | None, devices: Mapping[str, Device]) -> Sighting:
    device = devices.get(item.device) if item.device else None
    position = item.position or (report.position if report else None) or _position(device)
    place = (report.place if report else "") or (device.place if device else "")
    return Sighting(
        ref=f"item:{item.id}",
        source=item.source,
        title=item.title,
        category=item.category,
        status=item.status,
        open=item.status not in CLOSED,
        at_ms=item.created_ms,
        position=position,
        place=place,
        kind=device.kind if device and item.source == "alert" else "",
        device=item.device,
        item_id=item.id,
        alert_id=item.alert_id,
        number=report.number if report else "",
        parent_id=item.parent_id,
    )


def from_alert(alert: Alert, devices: Mapping[str, Device]) -> Sighting:
    device = devices.get(alert.device)
    return Sighting(
        ref=f"alert:{alert.id}",
        source="alert",
        title=alert.message or alert.rule_name,
        category=alert.subject or alert.kind,
        status=alert.state,
        open=alert.state != "resolved",
        at_ms=alert.started_ms,
        position=_position(device),
        place=device.place if device else "",
        kind=device.kind if device else "",
        device=alert.device,
        alert_id=alert.id,
    )


def gather(
    items: Iterable[WorkItem],
    reports: Mapping[int, Report],
    alerts: Iterable[Alert],
    devices: Mapping[str, Device],
) -> list[Sighting]:
    """Items and alerts as sightings; an alert that has a work item is seen once, as the item."""
    seen = [from_item(i, reports.get(i.report_id or -1), devices) for i in items]
    worked = {s.alert_id for s in seen if s.alert_id is not None}
    seen += [from_alert(a, devices) for a in alerts if a.id not in worked]
    return seen


def _position(device: Device | None) -> Position | None:
    if device is None or device.lat is None or device.lon is None:
        return None
    return Position(device.lat, device.lon)
