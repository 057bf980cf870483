"""Taking reports: what is checked, the limits per address and per phone, and what the
villager's private link shows (never a name or a phone number)."""

from __future__ import annotations

import pytest
from report_kit import jpeg

from village_brain.core.config import ReportSettings
from village_brain.reports.intake import Refused, ReportForm

HOUR = 3_600_000


def pothole(**fields) -> ReportForm:
    base = {"category": "road", "description": "桥头有坑", "lat": 30.27, "lon": 120.15}
    return ReportForm(**{**base, **fields})


def test_a_report_is_kept_with_its_cleaned_photos_and_a_due_time(desk, clock) -> None:
    taken = desk.take(pothole(name="余云梅", phone="138 0000 0000"), [jpeg()], "10.0.0.1")
    assert taken.report.phone == "13800000000" and taken.report.name == "余云梅"
    assert len(taken.report.photos) == 1
    assert desk.store.photo(taken.report.photos[0]).mime == "image/jpeg"
    assert taken.item.due_ms == clock.now + 72 * HOUR


def test_the_private_view_shows_status_and_public_replies_only(desk, clock) -> None:
    taken = desk.take(pothole(name="余云梅", phone="13800000000"), [], "10.0.0.1")
    desk.store.add_entry(taken.item.id, "note", "内部备注", "duty", clock.now + 1, public=False)
    desk.store.add_entry(taken.item.id, "reply", "明天去修", "duty", clock.now + 2, public=True)
    view = desk.view(taken.token)
    assert view.status == "new" and [r.text for r in view.replies] == ["明天去修"]
    shown = repr(view)
    assert "余云梅" not in shown and "13800000000" not in shown and "内部备注" not in shown
    assert desk.view("not-the-token") is None and desk.view("") is None


@pytest.mark.parametrize(
    ("form", "reason"),
    [
        (pothole(category="flying_saucer"), "category"),
        (pothole(description="   "), "description"),
        (pothole(description="x" * 2001), "description"),
        (pothole(lat=91.0), "position"),
        (pothole(lon=None), "position"),
        (pothole(lat=float("nan")), "position"),
        (pothole(phone="call me maybe"), "phone"),
        (pothole(name="名" * 41), "name"),
        (pothole(answers={"passable": "flying"}), "attribute"),
        (pothole(answers={"colour": "red"}), "attribute"),
    ],
)
def test_bad_input_is_refused_in_words_and_counted(desk, form, reason) -> None:
    with pytest.raises(Refused) as refused:
        desk.take(form, [], "10.0.0.1")
    assert refused.value.status == 400 and refused.value.reason == reason
    assert str(refused.value) and desk.refusals[reason] == 1
    assert desk.store.reports() == []


def test_a_known_answer_is_kept(desk) -> None:
    taken = desk.take(pothole(answers={"passable": "hard"}), [], "10.0.0.1")
    assert taken.report.attributes == {"passable": "hard"}


def test_too_many_photos_are_refused(desk) -> None:
    with pytest.raises(Refused, match="at most 3 photos"):
        desk.take(pothole(), [jpeg()] * 4, "10.0.0.1")


def test_a_non_image_photo_refuses_the_whole_report(desk) -> None:
    with pytest.raises(Refused) as refused:
        desk.take(pothole(), [jpeg(), b"%PDF-1.7"], "10.0.0.1")
    assert refused.value.reason == "photo_unreadable"
    assert desk.store.reports() == []


@pytest.fixture
def report_settings() -> ReportSettings:
    return ReportSettings(per_address=2, address_window="1h", per_phone=2, phone_window="1d")


def test_one_address_is_held_to_its_limit_per_window(desk, clock) -> None:
    desk.take(pothole(), [], "10.0.0.1")
    desk.take(pothole(), [], "10.0.0.1")
    with pytest.raises(Refused) as refused:
        desk.take(pothole(), [], "10.0.0.1")
    assert refused.value.status == 429 and desk.refusals["rate_address"] == 1
    desk.take(pothole(), [], "10.0.0.2")  # another address is not held back
    clock.now += HOUR
    desk.take(pothole(), [], "10.0.0.1")  # the window has moved on


def test_one_phone_is_held_to_its_limit_from_any_address(desk, clock) -> None:
    desk.take(pothole(phone="13800000000"), [], "10.0.0.1")
    desk.take(pothole(phone="138-0000-0000"), [], "10.0.0.2")
    with pytest.raises(Refused) as refused:
        desk.take(pothole(phone="13800000000"), [], "10.0.0.3")
    assert refused.value.reason == "rate_phone" and refused.value.status == 429
    clock.now += 24 * HOUR
    desk.take(pothole(phone="13800000000"), [], "10.0.0.3")
