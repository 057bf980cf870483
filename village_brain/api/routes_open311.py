"""Open311 GeoReport v2 at /open311/v2: the same reports, for apps and libraries that speak
it. JSON or XML by the path's ending; errors as the specification writes them, a list of
{code, description}. Reading is open; posting needs an api_key when any is configured.
"""

from __future__ import annotations

import hmac
from typing import Annotated

import msgspec
from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.responses import JSONResponse

from village_brain.api.context import ApiContext, context
from village_brain.api.routes_reports_public import PHOTO_PREFIX, read_body_at_most
from village_brain.core.timefmt import parse_rfc3339_ms
from village_brain.reports import open311
from village_brain.reports.intake import Refused, ReportDesk, ReportForm

router = APIRouter(prefix="/open311/v2", tags=["Open311 GeoReport v2"])
Ctx = Annotated[ApiContext, Depends(context)]
FORMATS = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}
MAX_POST_BYTES = 64_000
MAX_IDS = 200
_ERROR = {400: {"description": "A list of {code, description}"}}


class Open311Error(Exception):
    def __init__(self, status: int, description: str, fmt: str = "json") -> None:
        super().__init__(description)
        self.status = status
        self.fmt = fmt if fmt in FORMATS else "json"


def install(app: FastAPI) -> None:
    app.add_exception_handler(Open311Error, _answer_error)


async def _answer_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Open311Error)
    errors = [open311.Error(code=exc.status, description=str(exc))]
    if exc.fmt == "xml":
        return Response(open311.to_xml("errors", errors), exc.status, media_type=FORMATS["xml"])
    return JSONResponse(msgspec.to_builtins(errors), exc.status)


@router.get("/services.{fmt}", summary="The services: one per report category", responses=_ERROR)
def get_services(ctx: Ctx, fmt: str, jurisdiction_id: str | None = None) -> Response:
    reports = _desk(ctx, fmt, jurisdiction_id)
    return _answer(fmt, "services", open311.services(reports.settings))


@router.get(
    "/services/{service_code}.{fmt}",
    summary="A service's definition: the category's extra questions",
    responses=_ERROR,
)
def get_service_definition(
    ctx: Ctx, service_code: str, fmt: str, jurisdiction_id: str | None = None
) -> Response:
    reports = _desk(ctx, fmt, jurisdiction_id)
    category = reports.settings.category(service_code)
    if category is None:
        raise Open311Error(404, f"service_code {service_code[:40]!r} not found", fmt)
    return _answer(fmt, "service_definition", open311.definition(category))


@router.get("/requests.{fmt}", summary="Service requests (reports), newest first", responses=_ERROR)
def get_requests(
    ctx: Ctx,
    request: Request,
    fmt: str,
    jurisdiction_id: str | None = None,
    service_request_id: str | None = None,
    service_code: str | None = None,
    start_date: str | None = None,
    end_date: str | None = None,
    status: str | None = None,
) -> Response:
    reports = _desk(ctx, fmt, jurisdiction_id)
    since, until = _window(start_date, end_date, reports.clock(), fmt)
    statuses = _listed(status, fmt)
    if statuses is not None and not statuses <= {"open", "closed"}:
        raise Open311Error(400, "status is open, closed, or both comma-separated", fmt)
    found = _view(reports, request).some(
        _listed(service_request_id, fmt), _listed(service_code, fmt), since, until, statuses
    )
    return _answer(fmt, "service_requests", found)


@router.get("/requests/{service_request_id}.{fmt}", summary="One service request", responses=_ERROR)
def get_request(
    ctx: Ctx,
    request: Request,
    service_request_id: str,
    fmt: str,
    jurisdiction_id: str | None = None,
) -> Response:
    reports = _desk(ctx, fmt, jurisdiction_id)
    found = _view(reports, request).one(service_request_id[:64])
    if found is None:
        raise Open311Error(404, f"service_request_id {service_request_id[:40]!r} not found", fmt)
    return _answer(fmt, "service_requests", [found])


@router.post(
    "/requests.{fmt}",
    summary="Make a service request (application/x-www-form-urlencoded)",
    responses=_ERROR,
    openapi_extra={
        "requestBody": {
            "content": {
                "application/x-www-form-urlencoded": {
                    "schema": {
                        "type": "object",
                        "required": ["service_code"],
                        "properties": {
                            name: {"type": "string"}
                            for name in (
                                "api_key",
                                "jurisdiction_id",
                                "service_code",
                                "lat",
                                "long",
                                "address_string",
                                "description",
                                "first_name",
                                "last_name",
                                "phone",
                                "email",
                                "device_id",
                                "account_id",
                                "media_url",
                            )
                        },
                        "additionalProperties": {"type": "string"},
                    }
                }
            }
        }
    },
)
async def post_request(ctx: Ctx, request: Request, fmt: str) -> Response:
    reports = _desk(ctx, fmt, request.query_params.get("jurisdiction_id"))
    fields = await _form(request, fmt)
    if fields.get("jurisdiction_id"):
        _check_jurisdiction(reports, fields["jurisdiction_id"], fmt)
    _check_key(reports, fields.get("api_key") or request.query_params.get("api_key", ""), fmt)
    category = reports.settings.category(fields.get("service_code", ""))
    if category is None:
        raise Open311Error(400, "service_code is missing or not one of services", fmt)
    lat, lon = _coordinate(fields, "lat", fmt), _coordinate(fields, "long", fmt)
    place = fields.get("address_string", "").strip()
    if (lat is None or lon is None) and not place:
        raise Open311Error(400, "give lat and long, or address_string", fmt)
    name = " ".join(p for p in (fields.get("first_name"), fields.get("last_name")) if p)
    form = ReportForm(
        category=category.code,
        description=fields.get("description", "").strip() or category.name_zh,
        lat=lat,
        lon=lon,
        place=place,
        name=name.strip(),
        phone=fields.get("phone", ""),
        via="open311",
        answers={
            key[len("attribute[") : -1]: value
            for key, value in fields.items()
            if key.startswith("attribute[") and key.endswith("]")
        },
    )
    try:
        taken = reports.take(form, [], request.client.host if request.client else "unknown")
    except Refused as refused:
        raise Open311Error(refused.status, str(refused), fmt) from None
    created = open311.Created(
        service_request_id=taken.report.number, service_notice=None, account_id=None
    )
    return _answer(fmt, "service_requests", [created])


@router.api_route("/{rest:path}", methods=["GET", "POST"], include_in_schema=False)
def no_such_resource(rest: str) -> Response:
    """Anything else under the root, answered in the specification's error format too."""
    fmt = rest.rsplit(".", 1)[-1] if "." in rest else "json"
    raise Open311Error(404, "no such Open311 resource: see services and requests", fmt)


def _desk(ctx: ApiContext, fmt: str, jurisdiction_id: str | None) -> ReportDesk:
    if fmt not in FORMATS:
        raise Open311Error(404, "formats are json and xml")
    if ctx.reports is None:
        raise Open311Error(404, "reports are not taken here", fmt)
    if jurisdiction_id:
        _check_jurisdiction(ctx.reports, jurisdiction_id, fmt)
    return ctx.reports


def _check_jurisdiction(reports: ReportDesk, given: str, fmt: str) -> None:
    ours = reports.settings.jurisdiction_id
    if ours and given != ours:
        raise Open311Error(404, f"jurisdiction_id {given[:40]!r} not found", fmt)


def _check_key(reports: ReportDesk, given: str, fmt: str) -> None:
    keys = reports.settings.open311_api_keys
    if not keys:
        return
    sent = given.encode()
    # Every key compared, so the time taken tells nothing of which one nearly matched.
    matched = [hmac.compare_digest(sent, key.get_secret_value().encode()) for key in keys]
    if not any(matched):
        raise Open311Error(403, "api_key is missing or not valid", fmt)


def _view(reports: ReportDesk, request: Request) -> open311.RequestView:
    base = str(request.base_url).rstrip("/")
    return open311.RequestView(
        reports.store, reports.settings, lambda photo_id: f"{base}{PHOTO_PREFIX}{photo_id}"
    )


def _answer(fmt: str, root: str, value: object) -> Response:
    if fmt == "xml":
        return Response(open311.to_xml(root, value), media_type=FORMATS["xml"])
    return Response(msgspec.json.encode(value), media_type=FORMATS["json"])


def _listed(text: str | None, fmt: str) -> set[str] | None:
    if text is None or not text.strip():
        return None
    items = {part.strip() for part in text.split(",") if part.strip()}
    if len(items) > MAX_IDS:
        raise Open311Error(400, f"at most {MAX_IDS} values in one list", fmt)
    return items


def _window(start: str | None, end: str | None, now: int, fmt: str) -> tuple[int, int]:
    span = open311.DEFAULT_DAYS * open311.DAY_MS
    try:
        since = parse_rfc3339_ms(start) if start else None
        until = parse_rfc3339_ms(end) if end else None
    except ValueError:
        raise Open311Error(400, "dates are w3 format, such as 2026-12-01T00:00:00Z", fmt) from None
    if since is None and until is None:
        return now - span, now
    if since is None:
        assert until is not None
        return until - span, until
    if until is None:
        return since, since + span
    if until < since or until - since > span:
        raise Open311Error(400, "end_date is after start_date, by at most 90 days", fmt)
    return since, until


async def _form(request: Request, fmt: str) -> dict[str, str]:
    kind = request.headers.get("content-type", "")
    if not kind.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        raise Open311Error(400, "send the request as application/x-www-form-urlencoded", fmt)
    if not await read_body_at_most(request, MAX_POST_BYTES):
        raise Open311Error(413, f"at most {MAX_POST_BYTES} bytes", fmt)
    try:
        form = await request.form(max_files=0, max_fields=60)
    except Exception:  # the form parser's errors are of several kinds
        raise Open311Error(400, "the form could not be read", fmt) from None
    return {key: value for key, value in form.multi_items() if isinstance(value, str)}


def _coordinate(fields: dict[str, str], name: str, fmt: str) -> float | None:
    text = fields.get(name, "").strip()
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        raise Open311Error(400, f"{name} is a number in decimal degrees", fmt) from None
