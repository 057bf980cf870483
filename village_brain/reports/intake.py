"""Taking a villager's report, from the phone page or an Open311 client: check it, clean its
photos, hold it to the limits, keep it; and what the villager's private link shows.

Every refusal is a `Refused` with a sentence for the villager, and is counted by reason.
"""

from __future__ import annotations

import logging
import math
import re
import threading
from collections import Counter
from collections.abc import Callable, Mapping, Sequence

import msgspec

from village_brain.core.config import ReportCategory, ReportQuestion, ReportSettings, Settings
from village_brain.core.timefmt import now_ms
from village_brain.reports.limits import WindowLimit
from village_brain.reports.photos import PhotoRefused, clean_photo
from village_brain.reports.records import NewReport, Position, Report, WorkItem
from village_brain.reports.store import ReportStore

log = logging.getLogger(__name__)

MAX_NAME_CHARS = 40
MAX_PLACE_CHARS = 120
MAX_ANSWER_CHARS = 500
_PHONE = re.compile(r"^\+?[0-9][0-9 \-]{4,22}$")


class Refused(Exception):
    """A report not taken. `status` is the HTTP status to answer with."""

    def __init__(self, status: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason


class ReportForm(msgspec.Struct, frozen=True):
    """What arrives, before any check."""

    category: str
    description: str
    lat: float | None = None
    lon: float | None = None
    place: str = ""
    name: str = ""
    phone: str = ""
    via: str = "page"
    answers: dict[str, str] = msgspec.field(default_factory=dict)


class Taken(msgspec.Struct, frozen=True):
    report: Report
    item: WorkItem
    token: str  # for the villager's private link; kept nowhere else


class PublicReply(msgspec.Struct, frozen=True):
    text: str
    at_ms: int


class VillagerView(msgspec.Struct, frozen=True):
    """What the private link shows: no name, no phone, no staff notes."""

    number: str
    category: str
    description: str
    status: str
    created_ms: int
    updated_ms: int
    position: Position | None
    place: str
    photos: tuple[str, ...]  # photo ids
    replies: tuple[PublicReply, ...]


class ReportDesk:
    def __init__(
        self, store: ReportStore, settings: ReportSettings, clock: Callable[[], int] = now_ms
    ) -> None:
        self.store = store
        self.settings = settings
        self.clock = clock
        self.by_address = WindowLimit(settings.per_address, settings.window_ms("address"))
        self.refusals: Counter[str] = Counter()
        # Checking a limit and keeping the report are one step, or a burst slips past.
        self._lock = threading.Lock()

    def take(self, form: ReportForm, photos: Sequence[bytes], address: str) -> Taken:
        try:
            return self._take(form, photos, address)
        except Refused as refused:
            self.refusals[refused.reason] += 1
            log.info("report refused (%s) from %s: %s", refused.reason, address, refused)
            raise

    def view(self, token: str) -> VillagerView | None:
        report = self.store.report_for_token(token) if token else None
        if report is None:
            return None
        item = self.store.item_for_report(report.id)
        assert item is not None
        replies = tuple(
            PublicReply(text=e.text, at_ms=e.at_ms)
            for e in self.store.entries(item.id, public_only=True)
            if e.kind == "reply"
        )
        return VillagerView(
            number=report.number,
            category=report.category,
            description=report.description,
            status=item.status,
            created_ms=report.created_ms,
            updated_ms=item.updated_ms,
            position=report.position,
            place=report.place,
            photos=report.photos,
            replies=replies,
        )

    def _take(self, form: ReportForm, photos: Sequence[bytes], address: str) -> Taken:
        new = self._checked(form, photos)
        with self._lock:
            at = self.clock()
            self._hold_to_limits(new.phone, address, at)
            report, item, token = self.store.submit(new, at)
            self.by_address.mark(address, at)
        log.info("report %s (%s) taken via %s", report.number, report.category, report.via)
        return Taken(report=report, item=item, token=token)

    def _checked(self, form: ReportForm, photos: Sequence[bytes]) -> NewReport:
        limits = self.settings
        category = limits.category(form.category)
        if category is None:
            codes = ", ".join(c.code for c in limits.categories)
            raise Refused(400, "category", f"no category {form.category!r}: choose one of {codes}")
        description = form.description.strip()
        if not description:
            raise Refused(400, "description", "say what the problem is in the description")
        if len(description) > limits.max_description_chars:
            raise Refused(
                400,
                "description",
                f"the description is too long: at most {limits.max_description_chars} characters",
            )
        if len(photos) > limits.max_photos:
            raise Refused(400, "photo_count", f"at most {limits.max_photos} photos per report")
        return NewReport(
            category=category.code,
            description=description,
            position=_position(form.lat, form.lon),
            place=_short(form.place, MAX_PLACE_CHARS, "place"),
            photos=tuple(self._clean(photo) for photo in photos),
            name=_short(form.name, MAX_NAME_CHARS, "name"),
            phone=_phone(form.phone),
            via=form.via,
            attributes=_answers(category, form.answers),
        )

    def _clean(self, data: bytes):
        limits = self.settings
        try:
            return clean_photo(
                data, limits.max_photo_bytes, limits.max_photo_pixels, limits.photo_edge
            )
        except PhotoRefused as refused:
            status = 413 if refused.reason == "photo_too_big" else 400
            raise Refused(status, refused.reason, str(refused)) from None

    def _hold_to_limits(self, phone: str, address: str, at: int) -> None:
        limits = self.settings
        if self.by_address.full(address, at):
            raise Refused(
                429,
                "rate_address",
                f"too many reports from this connection: at most {limits.per_address} "
                f"per {limits.address_window}; try again later",
            )
        if phone and limits.per_phone:
            since = at - limits.window_ms("phone") + 1
            if self.store.count_reports(since, phone=phone) >= limits.per_phone:
                raise Refused(
                    429,
                    "rate_phone",
                    f"too many reports from this phone number: at most {limits.per_phone} "
                    f"per {limits.phone_window}; try again later",
                )


def _position(lat: float | None, lon: float | None) -> Position | None:
    if lat is None and lon is None:
        return None
    if lat is None or lon is None:
        raise Refused(400, "position", "a position needs both latitude and longitude")
    if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180):
        raise Refused(400, "position", "latitude is -90 to 90 and longitude -180 to 180")
    return Position(lat=lat, lon=lon)


def _short(text: str, most: int, what: str) -> str:
    text = text.strip()
    if len(text) > most:
        raise Refused(400, what, f"the {what} is too long: at most {most} characters")
    return text


def _phone(text: str) -> str:
    text = text.strip()
    if not text:
        return ""
    if not _PHONE.match(text):
        raise Refused(400, "phone", "the phone number has digits only (a leading + is fine)")
    # One number written two ways counts as one for the limits.
    return re.sub(r"[ \-]", "", text)


def _answers(category: ReportCategory, answers: Mapping[str, str]) -> dict[str, str]:
    questions = {q.code: q for q in category.questions}
    unknown = sorted(set(answers) - set(questions))
    if unknown:
        raise Refused(400, "attribute", f"category {category.code} asks no {', '.join(unknown)}")
    kept = {}
    for question in category.questions:
        answer = answers.get(question.code, "").strip()
        if not answer:
            if question.required:
                raise Refused(400, "attribute", f"answer {question.code}: it is required")
            continue
        kept[question.code] = _answer(question, answer)
    return kept


def _answer(question: ReportQuestion, answer: str) -> str:
    if len(answer) > MAX_ANSWER_CHARS:
        raise Refused(400, "attribute", f"the answer to {question.code} is too long")
    if question.datatype == "number":
        try:
            float(answer)
        except ValueError:
            raise Refused(400, "attribute", f"{question.code} is a number") from None
    if question.datatype in ("singlevaluelist", "multivaluelist"):
        keys = {value.key for value in question.values}
        given = answer.split(",") if question.datatype == "multivaluelist" else [answer]
        wrong = [key for key in given if key not in keys]
        if wrong:
            raise Refused(
                400,
                "attribute",
                f"{question.code} is one of {', '.join(sorted(keys))}, not {wrong[0]!r}",
            )
    return answer


def open_desk(settings: Settings) -> ReportDesk | None:
    """The desk on the data directory's reports.sqlite3, when reports are enabled."""
    if not settings.reports.enabled:
        return None
    store = ReportStore(
        settings.store.data_dir / "reports.sqlite3",
        settings.store.sqlite_synchronous,
        due_hours={
            c.code: c.due_hours for c in settings.reports.categories if c.due_hours is not None
        },
        zone=settings.dashboard.time_zone,
    )
    return ReportDesk(store, settings.reports)
