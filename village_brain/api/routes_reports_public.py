"""The villagers' side of reports, open to anyone without an account: what the phone page
needs to draw its form, sending a report with its photos, following it with the private
link's token, and the photos themselves (at unguessable addresses).

Name and phone number go in and never come out here: they are for staff eyes only.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, HTTPException, Request, Response
from pydantic import BaseModel, Field
from starlette.datastructures import UploadFile

from village_brain.api.context import ApiContext, context
from village_brain.core.config import ReportCategory
from village_brain.reports.intake import Refused, ReportDesk, ReportForm, VillagerView

router = APIRouter(prefix="/api/v1/public/reports", tags=["reports (public)"])
Ctx = Annotated[ApiContext, Depends(context)]
TOKEN_HEADER = "X-Report-Token"
# Room in a report's body for its text fields and the multipart framing, beside the photos.
FORM_ROOM_BYTES = 64_000
PHOTO_PREFIX = "/api/v1/public/reports/photos/"


class ChoiceOut(BaseModel):
    key: str
    name_zh: str
    name_en: str


class QuestionOut(BaseModel):
    code: str
    datatype: str
    required: bool
    description_zh: str
    description_en: str
    values: list[ChoiceOut]


class CategoryOut(BaseModel):
    code: str
    name_zh: str
    name_en: str
    questions: list[QuestionOut]


class Landmark(BaseModel):
    """A device's place, for drawing the plan a villager picks a place on; no id."""

    lat: float
    lon: float
    village: str
    water: bool = Field(description="In the river: the plan draws the river through these.")


class FormOut(BaseModel):
    categories: list[CategoryOut]
    max_photos: int
    max_photo_bytes: int
    photo_edge: int = Field(description="Photos longer than this are shrunk; the page may first.")
    max_description_chars: int
    landmarks: list[Landmark]


class TakenOut(BaseModel):
    number: str = Field(description="The report's number, to quote on the phone.")
    token: str = Field(description="The private link's secret; shown once, kept nowhere.")
    status_url: str = Field(description="The private status page: /report/status#<token>.")


class ReplyOut(BaseModel):
    text: str
    at_ms: int


class PositionOut(BaseModel):
    lat: float
    lon: float


class StatusOut(BaseModel):
    number: str
    category: str
    description: str
    status: str = Field(description="new, assigned, in_progress, resolved, rejected, duplicate.")
    created_ms: int
    updated_ms: int
    position: PositionOut | None
    place: str
    photos: list[str] = Field(description="Addresses of the report's photos.")
    replies: list[ReplyOut] = Field(description="The staff's public replies, oldest first.")


def desk(ctx: ApiContext) -> ReportDesk:
    if ctx.reports is None:
        raise HTTPException(404, "reports are not taken here (reports.enabled is false)")
    return ctx.reports


@router.get("/form", summary="What the report page asks: categories, questions, photo limits")
def report_form(ctx: Ctx) -> FormOut:
    reports = desk(ctx)
    limits = reports.settings
    return FormOut(
        categories=[_category_out(c) for c in limits.categories],
        max_photos=limits.max_photos,
        max_photo_bytes=limits.max_photo_bytes,
        photo_edge=limits.photo_edge,
        max_description_chars=limits.max_description_chars,
        landmarks=_landmarks(ctx) if limits.public_plan else [],
    )


@router.post(
    "",
    status_code=201,
    summary="Send a report (multipart/form-data); answers its number and private link",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["category", "description"],
                        "properties": {
                            "category": {"type": "string"},
                            "description": {"type": "string"},
                            "lat": {"type": "number"},
                            "lon": {"type": "number"},
                            "place": {"type": "string"},
                            "name": {"type": "string"},
                            "phone": {"type": "string"},
                            "photo": {
                                "type": "array",
                                "items": {"type": "string", "format": "binary"},
                            },
                        },
                        "additionalProperties": {
                            "type": "string",
                            "description": "attribute[code]: the category's questions",
                        },
                    }
                }
            },
        }
    },
    responses={413: {"description": "Too big"}, 429: {"description": "Too many reports"}},
)
async def send_report(ctx: Ctx, request: Request) -> TakenOut:
    reports = desk(ctx)
    limits = reports.settings
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise HTTPException(415, "send the report as multipart/form-data")
    most = limits.max_photos * limits.max_photo_bytes + FORM_ROOM_BYTES
    if not await read_body_at_most(request, most):
        raise HTTPException(413, f"the report is too big: at most {most // 1_000_000} MB")
    try:
        form = await request.form(max_files=limits.max_photos + 1, max_fields=60)
    except Exception as exc:  # the multipart parser's own errors are of several kinds
        raise HTTPException(400, f"the form could not be read: {exc}") from None
    text = {k: v for k, v in form.multi_items() if isinstance(v, str)}
    files = [v for k, v in form.multi_items() if k == "photo" and isinstance(v, UploadFile)]
    photos = [await f.read() for f in files if f.filename or f.size]
    try:
        taken = reports.take(
            ReportForm(
                category=text.get("category", ""),
                description=text.get("description", ""),
                lat=_number(text.get("lat"), "lat"),
                lon=_number(text.get("lon"), "lon"),
                place=text.get("place", ""),
                name=text.get("name", ""),
                phone=text.get("phone", ""),
                answers=_answers(text),
            ),
            photos,
            _address(request),
        )
    except Refused as refused:
        raise HTTPException(refused.status, str(refused)) from None
    return TakenOut(
        number=taken.report.number,
        token=taken.token,
        status_url=f"/report/status#{taken.token}",
    )


@router.get("/mine", summary="A report as its private link shows it (no name, no phone)")
def my_report(
    ctx: Ctx,
    token: Annotated[str, Header(alias=TOKEN_HEADER, description="The private link's secret.")],
) -> StatusOut:
    view = desk(ctx).view(token.strip())
    if view is None:
        raise HTTPException(404, "no report has this link; check that it was copied whole")
    return _status_out(view)


@router.get(
    "/photos/{photo_id}",
    summary="A report's photo, re-encoded without metadata",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}}}},
)
def report_photo(ctx: Ctx, photo_id: str) -> Response:
    photo = desk(ctx).store.photo(photo_id) if len(photo_id) <= 64 else None
    if photo is None:
        raise HTTPException(404, "no such photo")
    return Response(
        photo.data,
        media_type=photo.mime,
        headers={"Cache-Control": "public, max-age=86400", "X-Content-Type-Options": "nosniff"},
    )


async def read_body_at_most(request: Request, most: int) -> bool:
    """Read the body once, stopping past `most` bytes (False); request.form() then parses
    what was read."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > most:
        return False
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > most:
            return False
        chunks.append(chunk)
    # Where Starlette keeps a body it has read, for request.form() to parse.
    request._body = b"".join(chunks)
    return True


def _number(text: str | None, name: str) -> float | None:
    if text is None or not text.strip():
        return None
    try:
        return float(text)
    except ValueError:
        raise HTTPException(400, f"{name} is a number, such as 30.2741") from None


def _answers(text: dict[str, str]) -> dict[str, str]:
    """`attribute[code]` fields, as Open311 names them."""
    return {
        key[len("attribute[") : -1]: value
        for key, value in text.items()
        if key.startswith("attribute[") and key.endswith("]")
    }


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _category_out(category: ReportCategory) -> CategoryOut:
    return CategoryOut(
        code=category.code,
        name_zh=category.name_zh,
        name_en=category.name_en,
        questions=[
            QuestionOut(
                code=q.code,
                datatype=q.datatype,
                required=q.required,
                description_zh=q.description_zh,
                description_en=q.description_en or q.description_zh,
                values=[
                    ChoiceOut(key=v.key, name_zh=v.name_zh, name_en=v.name_en or v.name_zh)
                    for v in q.values
                ],
            )
            for q in category.questions
        ],
    )


def _landmarks(ctx: ApiContext) -> list[Landmark]:
    water = {"water_level", "water_ph", "turbidity", "dissolved_oxygen"}
    marks = []
    for row in ctx.registry.devices():
        device = row.device
        if device.lat is None or device.lon is None:
            continue
        marks.append(
            Landmark(
                lat=device.lat,
                lon=device.lon,
                village=device.village,
                water=bool(water & set(device.sensors)),
            )
        )
    return marks


def _status_out(view: VillagerView) -> StatusOut:
    return StatusOut(
        number=view.number,
        category=view.category,
        description=view.description,
        status=view.status,
        created_ms=view.created_ms,
        updated_ms=view.updated_ms,
        position=None
        if view.position is None
        else PositionOut(lat=view.position.lat, lon=view.position.lon),
        place=view.place,
        photos=[PHOTO_PREFIX + photo_id for photo_id in view.photos],
        replies=[ReplyOut(text=r.text, at_ms=r.at_ms) for r in view.replies],
    )
