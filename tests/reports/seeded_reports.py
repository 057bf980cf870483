"""A seeded village of reports and alerts with known answers, built the same way every run.

- a pothole on the east road reported five times in two days (one group, one grid cell);
- beside it, reports that must not join: 600 m away, ten days later, and about waste;
- a lighting report beside a street lamp whose lamp_state alert is open (related);
- four isolated reports, each alone;
- the 18-exits shape: one category, 18 exits of 4 stations (5, 5, 4, 4), all in one morning;
  each station sits at the centre of a 250 m grid cell, its exits within 80 m of it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from village_brain.alerts.records import Alert
from village_brain.core.devices import Device
from village_brain.reports.geo import offset
from village_brain.reports.hotspots import grid_cell
from village_brain.reports.records import Position, Report, WorkItem
from village_brain.reports.sightings import Sighting, gather

CELL_M = 250.0
HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS
T0 = 1_793_584_800_000  # 2026-11-02 10:00 Asia/Shanghai, a Monday (ISO week 45)
CENTRE = Position(30.2, 120.1)
LAMP = offset(CENTRE, 300, -500)
# Exits around each station centre, metres (north, east).
EXIT_OFFSETS = [(60, 0), (0, 60), (-60, 0), (0, -60), (40, 40)]
STATION_SIZES = {"A": 5, "B": 5, "C": 4, "D": 4}


@dataclass(frozen=True)
class SeedReport:
    label: str
    category: str
    position: Position | None
    at_ms: int
    place: str = ""


@dataclass(frozen=True)
class SeedAlert:
    label: str
    device: str
    subject: str
    at_ms: int


@dataclass
class Seed:
    reports: list[SeedReport] = field(default_factory=list)
    alerts: list[SeedAlert] = field(default_factory=list)
    devices: list[Device] = field(default_factory=list)

    def labels(self, prefix: str) -> list[str]:
        return [r.label for r in self.reports if r.label.startswith(prefix)]


def station_centre(name: str) -> Position:
    """Station A..D, a kilometre and more apart, 2.5 km north of the village, each snapped
    to the centre of its grid cell so its exits share the cell."""
    index = "ABCD".index(name)
    return _snapped(offset(CENTRE, 2_500 + 1_000 * (index // 2), 1_000 * (index % 2)))


def _snapped(position: Position) -> Position:
    centre = grid_cell(position, CELL_M).center
    assert centre is not None
    return centre


# At a cell's centre, so all five reports of it fall in one hotspot cell.
POTHOLE = _snapped(offset(CENTRE, 0, 400))


def seed() -> Seed:
    s = Seed()
    pothole_hours = [0, 3, 9, 26, 40]
    for n, hours in enumerate(pothole_hours):
        where = offset(POTHOLE, 8 * n - 16, 5 * (n % 3) - 5)  # within 40 m of the hole
        s.reports.append(SeedReport(f"pothole-{n}", "road", where, T0 + hours * HOUR_MS))
    s.reports += [
        SeedReport("far-road", "road", offset(POTHOLE, 0, 600), T0 + 5 * HOUR_MS),
        SeedReport("late-road", "road", POTHOLE, T0 + 10 * DAY_MS),
        SeedReport("waste-at-hole", "waste", offset(POTHOLE, 10, 0), T0 + 4 * HOUR_MS),
        SeedReport("dark-street", "lighting", offset(LAMP, 20, 10), T0 + 2 * HOUR_MS),
        SeedReport("lone-water", "water", offset(CENTRE, -1_500, 0), T0 + HOUR_MS),
        SeedReport("lone-help", "help", offset(CENTRE, 0, -1_500), T0 + 6 * HOUR_MS),
        SeedReport("lone-waste", "waste", offset(CENTRE, 1_200, 1_200), T0 + 7 * HOUR_MS),
        SeedReport("lone-other", "other", None, T0 + 8 * HOUR_MS, place="村委会"),
    ]
    minute = 0
    for station, size in STATION_SIZES.items():
        centre = station_centre(station)
        for n, (north, east) in enumerate(EXIT_OFFSETS[:size]):
            s.reports.append(
                SeedReport(
                    f"exit-{station}{n + 1}",
                    "road",
                    offset(centre, north, east),
                    T0 + 2 * DAY_MS + minute * 60_000,
                    place="",
                )
            )
            minute += 7  # 18 reports over two hours
    s.devices = [
        Device(
            id="lamp-7",
            village="xiashan",
            kind="street_lamp",
            name="东路7号灯",
            place="东路",
            lat=LAMP.lat,
            lon=LAMP.lon,
            sensors=("lamp_state",),
        )
    ]
    s.alerts = [SeedAlert("lamp-off", "lamp-7", "lamp_state", T0 + HOUR_MS)]
    return s


def in_memory(s: Seed) -> tuple[list[Sighting], dict[str, str]]:
    """The seed as sightings, as the API builds them, and each label's ref."""
    items, reports, refs = [], {}, {}
    for n, r in enumerate(s.reports, start=1):
        reports[n] = Report(
            n, f"20261102-{n:04d}", r.category, r.label, r.at_ms, r.position, r.place
        )
        items.append(
            WorkItem(
                n, "report", r.label, r.category, "new", "normal", r.at_ms, r.at_ms, report_id=n
            )
        )
        refs[r.label] = f"item:{n}"
    alerts = []
    for n, a in enumerate(s.alerts, start=1):
        alerts.append(_alert(n, a))
        refs[a.label] = f"alert:{n}"
    devices = {d.id: d for d in s.devices}
    return gather(items, reports, alerts, devices), refs


def _alert(n: int, a: SeedAlert) -> Alert:
    return Alert(
        id=n,
        rule_id="lamp-off",
        rule_name="lamp off",
        severity="major",
        kind="threshold",
        village="xiashan",
        device=a.device,
        subject=a.subject,
        state="firing",
        message="lamp is off",
        started_ms=a.at_ms,
        updated_ms=a.at_ms,
    )
