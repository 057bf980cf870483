"""The reports as Open311 GeoReport v2 sees them: services (the categories), their
definitions (the extra questions), service requests (the reports), and its error list.

Field names are the specification's, letter for letter; XML is the same records with the
specification's element names.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Literal
from xml.etree import ElementTree as ET

import msgspec

from village_brain.core.config import ReportCategory, ReportSettings
from village_brain.reports.records import CLOSED, Report, WorkItem
from village_brain.reports.store import ReportStore

# Without a start_date the specification's default: the most recent 90 days.
DEFAULT_DAYS = 90
DAY_MS = 86_400_000
MAX_REQUESTS = 1000


class Service(msgspec.Struct):
    service_code: str
    service_name: str
    description: str
    metadata: bool
    type: Literal["realtime", "batch", "blackbox"]
    keywords: str
    group: str


class AttributeValue(msgspec.Struct):
    key: str
    name: str


class Attribute(msgspec.Struct):
    variable: bool
    code: str
    datatype: str
    required: bool
    datatype_description: str | None
    order: int
    description: str
    values: list[AttributeValue]


class ServiceDefinition(msgspec.Struct):
    service_code: str
    attributes: list[Attribute]


class ServiceRequest(msgspec.Struct):
    service_request_id: str
    status: Literal["open", "closed"]
    status_notes: str | None
    service_name: str
    service_code: str
    description: str
    agency_responsible: str | None
    service_notice: str | None
    requested_datetime: str
    updated_datetime: str
    expected_datetime: str | None
    address: str | None
    address_id: str | None
    zipcode: str | None
    lat: float | None
    long: float | None
    media_url: str | None


class Created(msgspec.Struct):
    service_request_id: str
    service_notice: str | None
    account_id: str | None


class Error(msgspec.Struct):
    code: int
    description: str


def services(settings: ReportSettings) -> list[Service]:
    return [
        Service(
            service_code=c.code,
            service_name=c.name_zh,
            description=f"{c.name_zh} · {c.name_en}",
            metadata=bool(c.questions),
            type="realtime",
            keywords=c.name_en.lower(),
            group=c.department,
        )
        for c in settings.categories
    ]


def definition(category: ReportCategory) -> ServiceDefinition:
    return ServiceDefinition(
        service_code=category.code,
        attributes=[
            Attribute(
                variable=True,
                code=q.code,
                datatype=q.datatype,
                required=q.required,
                datatype_description=None,
                order=order,
                description=q.description_zh,
                values=[AttributeValue(key=v.key, name=v.name_zh) for v in q.values],
            )
            for order, q in enumerate(category.questions, start=1)
        ],
    )


class RequestView:
    """Reports as service requests; `photo_url` makes a photo id into its address."""

    def __init__(
        self, store: ReportStore, settings: ReportSettings, photo_url: Callable[[str], str]
    ) -> None:
        self.store = store
        self.settings = settings
        self.photo_url = photo_url

    def one(self, number: str) -> ServiceRequest | None:
        report = self.store.report_by_number(number)
        return None if report is None else self._request(report)

    def some(
        self,
        numbers: Iterable[str] | None,
        codes: Iterable[str] | None,
        since_ms: int,
        until_ms: int,
        status: Iterable[str] | None,
    ) -> list[ServiceRequest]:
        """The specification's search: ids given override every other argument."""
        if numbers is not None:
            found = [self.store.report_by_number(n) for n in numbers]
            return [self._request(r) for r in found if r is not None]
        reports = self.store.reports(since_ms, until_ms, codes, limit=MAX_REQUESTS)
        wanted = set(status) if status is not None else {"open", "closed"}
        requests = (self._request(r) for r in reports)
        return [r for r in requests if r.status in wanted]

    def _request(self, report: Report) -> ServiceRequest:
        item = self.store.item_for_report(report.id)
        assert item is not None
        category = self.settings.category(report.category)
        return ServiceRequest(
            service_request_id=report.number,
            status="closed" if item.status in CLOSED else "open",
            status_notes=self._notes(item),
            service_name=category.name_zh if category else report.category,
            service_code=report.category,
            description=report.description,
            agency_responsible=item.department or (category.department if category else None),
            service_notice=None,
            requested_datetime=self.time(report.created_ms),
            updated_datetime=self.time(item.updated_ms),
            expected_datetime=None if item.due_ms is None else self.time(item.due_ms),
            address=report.place or None,
            address_id=None,
            zipcode=None,
            lat=report.position.lat if report.position else None,
            long=report.position.lon if report.position else None,
            media_url=self.photo_url(report.photos[0]) if report.photos else None,
        )

    def _notes(self, item: WorkItem) -> str | None:
        # Only what the villager may read: the staff's public replies, never their notes.
        replies = [e for e in self.store.entries(item.id, public_only=True) if e.kind == "reply"]
        return replies[-1].text if replies else None

    def time(self, ms: int) -> str:
        return datetime.fromtimestamp(ms / 1000, self.store.zone).isoformat(timespec="seconds")


# --- XML -----------------------------------------------------------------------------------

_LIST_ITEMS = {
    "services": "service",
    "service_requests": "request",
    "errors": "error",
    "attributes": "attribute",
    "values": "value",
}


def to_xml(root: str, value: object) -> bytes:
    """`value` (records, or a list of them) under the element `root`, as the spec writes it."""
    element = ET.Element(root)
    _fill(element, msgspec.to_builtins(value))
    return ET.tostring(element, encoding="UTF-8", xml_declaration=True)


def _fill(element: ET.Element, value: object) -> None:
    if isinstance(value, list):
        for item in value:
            _fill(ET.SubElement(element, _LIST_ITEMS.get(element.tag, "item")), item)
    elif isinstance(value, dict):
        for key, item in value.items():
            _fill(ET.SubElement(element, key), item)
    elif isinstance(value, bool):
        element.text = "true" if value else "false"
    elif value is not None:
        element.text = str(value)
