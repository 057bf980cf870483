"""The analysis API over real stores holding the seeded village: similar items, merging,
one work order for a group, merge suggestions, hotspots and their CSV, and the public list
of what is already reported nearby."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from seeded_api import seeded_context
from seeded_reports import DAY_MS, T0

from village_brain.api.app import create_app
from village_brain.auth.gate import Gate
from village_brain.core.timefmt import format_ms, now_ms
from village_brain.reports.geo import offset
from village_brain.reports.records import NewReport, Position
from village_brain.reports.store import ReportStore

END = format_ms(T0 + 3 * DAY_MS)


class Village:
    def __init__(self, client: TestClient, store: ReportStore, ids: dict[str, int]) -> None:
        self.client, self.store, self.ids = client, store, ids

    def label(self, ref: str) -> str:
        return next((label for label, i in self.ids.items() if ref == f"item:{i}"), ref)


@pytest.fixture
def village(tmp_path: Path) -> Iterator[Village]:
    """A village of its own, for the tests that change it."""
    with seeded_context(tmp_path) as seeded, TestClient(create_app(seeded.ctx)) as client:
        yield Village(client, seeded.store, seeded.ids)


@pytest.fixture(scope="module")
def seen(tmp_path_factory) -> Iterator[Village]:
    """One village the module's read-only tests share: seeding it is most of their time."""
    data_dir = tmp_path_factory.mktemp("seen")
    with seeded_context(data_dir) as seeded, TestClient(create_app(seeded.ctx)) as client:
        yield Village(client, seeded.store, seeded.ids)


def similar_labels(v: Village, label: str, **query: object) -> list[str]:
    answer = v.client.get(f"/api/v1/work/{v.ids[label]}/similar", params=query)
    assert answer.status_code == 200, answer.text
    return [v.label(m["sighting"]["ref"]) for m in answer.json()["matches"]]


def test_an_items_similar_items_are_its_duplicates_with_why(seen: Village):
    answer = seen.client.get(f"/api/v1/work/{seen.ids['pothole-0']}/similar").json()
    assert [seen.label(m["sighting"]["ref"]) for m in answer["matches"]] == [
        "pothole-1", "pothole-2", "pothole-3", "pothole-4",
    ]  # fmt: skip
    first = answer["matches"][0]
    assert first["category_match"] == "same"
    assert first["minutes"] == 180 and 0 < first["distance_m"] < 45
    assert first["sighting"]["number"].startswith("20261102-")


def test_a_report_beside_a_lamp_finds_the_lamp_alert_from_the_alert_store(seen: Village):
    answer = seen.client.get(f"/api/v1/work/{seen.ids['dark-street']}/similar").json()
    (only,) = answer["matches"]
    assert only["sighting"]["source"] == "alert" and only["sighting"]["device"] == "lamp-7"
    assert only["category_match"] == "related"


def test_a_wider_search_from_one_exit_finds_the_other_17(seen: Village):
    found = similar_labels(seen, "exit-A1", distance_m=3000, window_hours=4)
    assert len(found) == 17 and all(label.startswith("exit-") for label in found)


def test_merging_closes_the_duplicates_and_writes_both_timelines(village: Village):
    into = village.ids["pothole-0"]
    others = [village.ids[f"pothole-{n}"] for n in range(1, 5)]
    answer = village.client.post(f"/api/v1/work/{into}/merge", json={"item_ids": others})
    assert answer.status_code == 200, answer.text
    assert {m["status"] for m in answer.json()["merged"]} == {"duplicate"}
    assert all(village.store.item(i).parent_id == into for i in others)
    assert [e.text for e in village.store.entries(into) if e.kind == "merged"] == [
        f"#{i}" for i in others
    ]
    public = [e.kind for e in village.store.entries(others[0], public_only=True)]
    assert "reply" in public
    assert similar_labels(village, "pothole-0") == []


def test_merging_into_a_closed_item_is_refused_readably(village: Village):
    into, other = village.ids["pothole-1"], village.ids["pothole-2"]
    village.client.post(f"/api/v1/work/{village.ids['pothole-0']}/merge", json={"item_ids": [into]})
    answer = village.client.post(f"/api/v1/work/{into}/merge", json={"item_ids": [other]})
    assert answer.status_code == 409 and "reopen it" in answer.json()["error"]


def test_one_work_order_links_all_18_exits_under_it(village: Village):
    exits = [i for label, i in village.ids.items() if label.startswith("exit-")]
    body = {"item_ids": exits, "title": "车辆堵塞出入口 (18 exits)", "category": "road"}
    answer = village.client.post("/api/v1/similar/work-order", json=body)
    assert answer.status_code == 201, answer.text
    order = answer.json()["order"]
    assert len(answer.json()["linked"]) == 18
    assert {village.store.item(i).parent_id for i in exits} == {order["id"]}
    linked = [e.text for e in village.store.entries(order["id"]) if e.kind == "linked"]
    assert sorted(linked) == sorted(f"#{i}" for i in exits)
    assert village.store.item(order["id"]).position is not None


def test_a_work_order_for_an_unknown_item_is_404(seen: Village):
    body = {"item_ids": [seen.ids["exit-A1"], 99_999], "title": "x", "category": "road"}
    assert seen.client.post("/api/v1/similar/work-order", json=body).status_code == 404


def test_merge_suggestions_are_the_known_groups(seen: Village):
    answer = seen.client.get("/api/v1/similar/groups", params={"end": END, "days": 7}).json()
    found = sorted(sorted(seen.label(s["ref"]) for s in g) for g in answer["groups"])
    sizes = sorted(len(g) for g in found)
    assert sizes == [2, 4, 4, 5, 5, 5]
    assert ["alert:1", "dark-street"] in found


def test_hotspots_count_the_four_stations_and_the_pothole_by_week(seen: Village):
    answer = seen.client.get("/api/v1/hotspots", params={"end": END, "weeks": 2}).json()
    assert answer["weeks"] == ["2026-W44", "2026-W45"]
    road = [c for c in answer["cells"] if c["category"] == "road" and c["week"] == "2026-W45"]
    assert sorted(c["count"] for c in road) == [1, 4, 4, 5, 5, 5]  # the 1: the road 600 m off
    assert all(len(c["items"]) == c["count"] for c in answer["cells"])


def test_the_category_filter_keeps_to_one_category(seen: Village):
    answer = seen.client.get(
        "/api/v1/hotspots", params={"end": END, "weeks": 2, "category": "waste"}
    ).json()
    assert {c["category"] for c in answer["cells"]} == {"waste"}
    assert sum(c["count"] for c in answer["cells"]) == 2


def test_the_hotspot_csv_has_a_bom_a_header_and_a_row_per_cell(seen: Village):
    answer = seen.client.get("/api/v1/hotspots/csv", params={"end": END, "weeks": 2})
    assert answer.headers["content-type"].startswith("text/csv")
    text = answer.content.decode("utf-8")
    assert text.startswith("\ufeff周,地点")
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
    listed = seen.client.get("/api/v1/hotspots", params={"end": END, "weeks": 2}).json()
    assert len(rows) - 1 == len(listed["cells"])
    assert any(row[1] == "村委会" for row in rows)


def test_hotspots_refuse_an_end_past_year_9999_readably(seen: Village):
    answer = seen.client.get("/api/v1/hotspots", params={"end": "9999-12-31T00:00:00Z"})
    assert answer.status_code == 400 and "weeks" in answer.json()["error"]


def _recent(village: Village, where: Position, hours_ago: float, **extra: str) -> str:
    new = NewReport("road", "坑很深 the hole is deep", where, name="余云梅", phone="13800000000",
                    **extra)  # fmt: skip
    report, _, _ = village.store.submit(new, now_ms() - round(hours_ago * 3_600_000))
    return report.number


def test_nearby_lists_recent_reports_nearest_first_without_personal_data(village: Village):
    here = Position(31.0, 121.0)
    near = _recent(village, offset(here, 30, 0), 5)
    nearer = _recent(village, offset(here, 10, 0), 50)
    _recent(village, offset(here, 400, 0), 1)  # beyond the 150 m shown
    answer = village.client.get(
        "/api/v1/public/reports/nearby", params={"lat": here.lat, "lon": here.lon}
    )
    assert answer.status_code == 200
    found = answer.json()
    assert [n["number"] for n in found] == [nearer, near]
    assert set(found[0]) == {"number", "category", "status", "distance_m", "age_hours"}
    assert found[0]["age_hours"] == 50 and found[0]["distance_m"] == 10
    assert "余云梅" not in answer.text and "138" not in answer.text and "deep" not in answer.text


def test_nearby_keeps_to_the_category_asked(village: Village):
    here = Position(31.0, 121.0)
    _recent(village, here, 1)
    params = {"lat": here.lat, "lon": here.lon, "category": "water"}
    assert village.client.get("/api/v1/public/reports/nearby", params=params).json() == []


def test_nearby_needs_no_login(village: Village):
    village.client.app.state.ctx.auth = Gate.closed()
    params = {"lat": 31.0, "lon": 121.0}
    assert village.client.get("/api/v1/public/reports/nearby", params=params).status_code == 200
    assert village.client.get("/api/v1/hotspots").status_code == 401


def test_nearby_look_ups_past_the_limit_are_refused_with_retry_after(village: Village):
    params = {"lat": 31.0, "lon": 121.0}
    answers = [village.client.get("/api/v1/public/reports/nearby", params=params) for _ in range(6)]
    assert [a.status_code for a in answers[:5]] == [200] * 5
    assert answers[5].status_code == 429 and answers[5].headers["retry-after"] == "60"
    assert "wait" in answers[5].json()["error"]
