"""Similar items and merge groups on the seeded village, whose answers are known."""

from __future__ import annotations

import pytest
from seeded_reports import DAY_MS, HOUR_MS, in_memory, seed

from village_brain.reports.sightings import Sighting
from village_brain.reports.similar import Rules, groups, match, relation, similar

RELATED = relation({"lighting": ["lamp_state", "street_lamp"], "water": ["water_level"]})
RULES = Rules(distance_m=250, window_ms=3 * DAY_MS, related=RELATED)


@pytest.fixture(scope="module")
def village() -> tuple[dict[str, Sighting], dict[str, str]]:
    sightings, refs = in_memory(seed())
    by_ref = {s.ref: s for s in sightings}
    return {label: by_ref[ref] for label, ref in refs.items()}, refs


def labels(found: list[Sighting], refs: dict[str, str]) -> list[str]:
    names = {ref: label for label, ref in refs.items()}
    return [names[s.ref] for s in found]


def test_a_pothole_report_finds_its_four_duplicates_and_nothing_else(village):
    seen, refs = village
    found = similar(seen["pothole-0"], seen.values(), RULES)
    assert sorted(labels([m.sighting for m in found], refs)) == [
        "pothole-1",
        "pothole-2",
        "pothole-3",
        "pothole-4",
    ]


def test_each_match_says_how_far_how_long_and_which_category(village):
    seen, _ = village
    found = similar(seen["pothole-0"], seen.values(), RULES)
    later = next(m for m in found if m.sighting.ref == seen["pothole-3"].ref)
    assert later.category == "same"
    assert later.minutes == 26 * 60
    assert later.distance_m is not None and 20 < later.distance_m < 45


def test_the_closest_and_soonest_rank_first(village):
    seen, refs = village
    found = similar(seen["pothole-0"], seen.values(), RULES)
    assert labels([m.sighting for m in found], refs)[0] == "pothole-1"
    assert [m.score for m in found] == sorted(m.score for m in found)


def test_a_report_600_m_away_is_outside_the_distance(village):
    seen, _ = village
    assert match(seen["pothole-0"], seen["far-road"], RULES) is None


def test_a_report_ten_days_later_is_outside_the_window(village):
    seen, _ = village
    assert match(seen["pothole-0"], seen["late-road"], RULES) is None


def test_a_report_of_another_category_at_the_same_spot_is_not_similar(village):
    seen, _ = village
    assert match(seen["pothole-0"], seen["waste-at-hole"], RULES) is None


def test_a_dark_street_report_finds_the_lamp_off_alert_beside_it_as_related(village):
    seen, refs = village
    found = similar(seen["dark-street"], seen.values(), RULES)
    assert labels([m.sighting for m in found], refs) == ["lamp-off"]
    assert found[0].category == "related"
    assert found[0].sighting.source == "alert"


def test_without_the_relation_the_lamp_alert_is_not_similar(village):
    seen, _ = village
    plain = Rules(distance_m=250, window_ms=3 * DAY_MS)
    assert similar(seen["dark-street"], seen.values(), plain) == []


def test_isolated_reports_have_no_similar_items(village):
    seen, _ = village
    for label in ["lone-water", "lone-help", "lone-waste", "lone-other"]:
        assert similar(seen[label], seen.values(), RULES) == [], label


def test_merge_groups_are_the_pothole_the_four_stations_and_the_dark_street(village):
    seen, refs = village
    found = [sorted(labels(g, refs)) for g in groups(seen.values(), RULES)]
    assert sorted(found) == sorted(
        [
            ["pothole-0", "pothole-1", "pothole-2", "pothole-3", "pothole-4"],
            ["exit-A1", "exit-A2", "exit-A3", "exit-A4", "exit-A5"],
            ["exit-B1", "exit-B2", "exit-B3", "exit-B4", "exit-B5"],
            ["exit-C1", "exit-C2", "exit-C3", "exit-C4"],
            ["exit-D1", "exit-D2", "exit-D3", "exit-D4"],
            ["dark-street", "lamp-off"],
        ]
    )


def test_a_wider_distance_finds_the_same_problem_at_all_18_exits_of_4_stations(village):
    seen, refs = village
    wide = Rules(distance_m=1_500, window_ms=3 * DAY_MS, related=RELATED)
    found = [sorted(labels(g, refs)) for g in groups(seen.values(), wide)]
    exits = [g for g in found if g[0].startswith("exit-")]
    assert len(exits) == 1 and len(exits[0]) == 18
    # The pothole and the road 600 m off join at this distance; the late report never does.
    assert ["far-road", "pothole-0", "pothole-1", "pothole-2", "pothole-3", "pothole-4"] in found
    assert all("late-road" not in g for g in found)


def test_from_one_exit_the_wide_search_lists_the_other_17(village):
    seen, refs = village
    wide = Rules(distance_m=3_000, window_ms=4 * HOUR_MS, related=RELATED)
    found = labels([m.sighting for m in similar(seen["exit-A1"], seen.values(), wide)], refs)
    assert sorted(found) == sorted(
        label for label in refs if label.startswith("exit-") and label != "exit-A1"
    )


def test_a_short_window_splits_reports_a_day_apart(village):
    seen, refs = village
    short = Rules(distance_m=250, window_ms=4 * HOUR_MS, related=RELATED)
    found = [sorted(labels(g, refs)) for g in groups(seen.values(), short)]
    assert ["pothole-0", "pothole-1"] in found
    assert not any("pothole-3" in g for g in found)


def test_a_merged_duplicate_is_left_out_for_the_item_it_was_merged_into(village):
    seen, _ = village
    merged = [
        s if s.ref != seen["pothole-2"].ref else _duplicate_of(s, seen["pothole-1"])
        for s in seen.values()
    ]
    found = {m.sighting.ref for m in similar(seen["pothole-0"], merged, RULES)}
    assert seen["pothole-2"].ref not in found and seen["pothole-1"].ref in found


def test_without_positions_the_same_named_place_matches(village):
    seen, _ = village
    other = seen["lone-other"]
    twin = Sighting(**{**_fields(other), "ref": "item:999", "at_ms": other.at_ms + HOUR_MS})
    found = match(other, twin, RULES)
    assert found is not None and found.distance_m is None


def _fields(s: Sighting) -> dict:
    return {f: getattr(s, f) for f in s.__struct_fields__}


def _duplicate_of(s: Sighting, parent: Sighting) -> Sighting:
    return Sighting(
        **{**_fields(s), "status": "duplicate", "open": False, "parent_id": parent.item_id}
    )
