"""Hotspots on the seeded village: counts by place × category × week, with the items behind."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from seeded_reports import CELL_M, POTHOLE, T0, in_memory, seed, station_centre

from village_brain.reports.hotspots import HotCell, grid_cell, hotspots, week_of, week_start_ms

ZONE = ZoneInfo("Asia/Shanghai")


def cells() -> tuple[list[HotCell], dict[str, str]]:
    sightings, refs = in_memory(seed())
    return hotspots(sightings, CELL_M, ZONE), {ref: label for label, ref in refs.items()}


def cell_at(found: list[HotCell], key: str, category: str, week: str) -> HotCell:
    return next(c for c in found if (c.place.key, c.category, c.week) == (key, category, week))


def test_the_18_exits_are_four_station_cells_of_5_5_4_4_road_reports_in_one_week():
    found, names = cells()
    counts = {}
    for station in "ABCD":
        cell = cell_at(found, grid_cell(station_centre(station), CELL_M).key, "road", "2026-W45")
        assert all(names[r].startswith(f"exit-{station}") for r in cell.refs)
        counts[station] = cell.count
    assert counts == {"A": 5, "B": 5, "C": 4, "D": 4}


def test_the_pothole_is_one_cell_with_its_five_reports_oldest_first():
    found, names = cells()
    cell = cell_at(found, grid_cell(POTHOLE, CELL_M).key, "road", "2026-W45")
    assert [names[r] for r in cell.refs] == [f"pothole-{n}" for n in range(5)]


def test_the_report_ten_days_later_counts_in_its_own_week():
    found, names = cells()
    cell = cell_at(found, grid_cell(POTHOLE, CELL_M).key, "road", "2026-W46")
    assert [names[r] for r in cell.refs] == ["late-road"]


def test_another_category_at_the_same_place_is_its_own_count():
    found, names = cells()
    cell = cell_at(found, grid_cell(POTHOLE, CELL_M).key, "waste", "2026-W45")
    assert [names[r] for r in cell.refs] == ["waste-at-hole"]


def test_a_named_place_groups_by_its_name_even_without_a_position():
    found, names = cells()
    cell = cell_at(found, "place:村委会", "other", "2026-W45")
    assert [names[r] for r in cell.refs] == ["lone-other"]
    assert cell_at(found, "place:东路", "lamp_state", "2026-W45").count == 1


def test_the_largest_counts_come_first():
    found, _ = cells()
    assert [c.count for c in found[:5]] == [5, 5, 5, 4, 4]
    assert sum(c.count for c in found) == len(seed().reports) + len(seed().alerts)


def test_a_grid_cell_is_the_same_for_every_position_inside_it():
    centre = station_centre("A")
    assert grid_cell(centre, CELL_M) == grid_cell(
        type(centre)(centre.lat + 0.0009, centre.lon - 0.001), CELL_M
    )


def test_weeks_start_on_monday_in_the_village_time_zone():
    sunday_night = week_start_ms(T0, ZONE) - 60_000  # 23:59 local on the Sunday before
    assert week_of(week_start_ms(T0, ZONE), ZONE) == "2026-W45"
    assert week_of(sunday_night, ZONE) == "2026-W44"
    assert week_start_ms(T0, ZONE, weeks_back=1) == week_start_ms(T0, ZONE) - 7 * 86_400_000
