"""The ingest and read goals `bench/ingest.py` judges its run against, one line each.

A goal this run did not measure (a fleet smaller than the goal's, a rate below it, a store
without the history it asks for) is printed as not measured, with what to run instead,
never as met.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

HISTORY_POINTS = 10_000_000
HISTORY_DEVICES = 1_000
FLEET = 10_000
LONG_POINTS = 40_000_000
RATE = 5_000.0
ROUNDS = 5


@dataclass(frozen=True)
class Goal:
    what: str
    figure: str
    met: bool | None  # None: this run does not measure it
    instead: str = ""  # how to measure it, when not measured

    def line(self) -> str:
        verdict = {True: "met", False: "NOT MET", None: "not measured"}[self.met]
        tail = f"  ({self.instead})" if self.met is None and self.instead else ""
        return f"  {verdict:<13} {self.what:<72} {self.figure}{tail}"


@dataclass(frozen=True)
class Throughput:
    """The ingest with alert rules against the bare subscriber: each round's ratio, and what
    every variant lost or stored twice over the run."""

    ratios: Sequence[float]
    lost: int
    extra: int


def ingest_goals(backend: str, devices: int, prefill: int, run: Throughput) -> list[Goal]:
    target = 0.9 if backend == "sqlite" else 0.8
    store = f"{prefill:,} points over {devices:,} devices" if prefill else "empty"
    ratio = statistics.median(run.ratios)
    speed = Goal(
        f"one serve ≥ {target}× bare paho, rules on, {backend} ({store})",
        f"{ratio:.2f}× ({min(run.ratios):.2f}–{max(run.ratios):.2f}, {len(run.ratios)} rounds)",
        ratio >= target if len(run.ratios) >= ROUNDS else None,
        f"--rounds {ROUNDS}",
    )
    whole = Goal(
        "0 lost, 0 stored twice", f"{run.lost} lost, {run.extra} twice", run.lost == run.extra == 0
    )
    with_history = prefill >= HISTORY_POINTS and devices >= HISTORY_DEVICES
    history = Goal(
        f"both on a store of ≥ {HISTORY_POINTS:,} points over ≥ {HISTORY_DEVICES:,} devices",
        store,
        None if not with_history or speed.met is None else bool(speed.met and whole.met),
        f"--prefill {HISTORY_POINTS} --devices {HISTORY_DEVICES}",
    )
    return [speed, whole, history]


def latency_goal(asked: float, offered: float, p99_ms: float | None) -> Goal:
    what = f"p99 publish → committed < 200 ms at {RATE:,.0f} msg/s offered, rules on"
    if p99_ms is None:
        return Goal(what, "no latency phase", None, f"--rate {RATE:.0f} --seconds 10")
    figure = f"{p99_ms:.1f} ms at {offered:,.0f} msg/s"
    # A publisher that could not keep the asked rate has not offered it.
    at_rate = asked >= RATE and offered >= 0.98 * RATE
    return Goal(what, figure, p99_ms < 200 if at_rate else None, f"--rate {RATE:.0f}")


def read_goals(backend: str, figures: Mapping[str, float]) -> list[Goal]:
    fleet = int(figures.get("devices", 0))
    whole = fleet >= FLEET
    instead = f"--read-devices {FLEET}"
    goals = []
    limits = {"sqlite": 200.0} | ({backend: 1000.0} if backend != "sqlite" else {})
    for store, limit in limits.items():
        for key, what in (
            ("first_ms", "the store's first fleet read (after a start)"),
            ("devices_ms", "GET /api/v1/devices"),
            ("latest_ms", "GET /api/v1/latest"),
            ("overview_ms", "the overview page (/ + devices + latest)"),
        ):
            if key == "first_ms" and store == "sqlite":
                continue  # the goal is the requests'; on SQLite the first read is cheap
            value = figures.get(f"{store}.{key}")
            goals.append(
                Goal(
                    f"{what} < {limit:,.0f} ms, {FLEET:,} devices, {store}",
                    "—" if value is None else f"{value:.1f} ms",
                    None if value is None or not whole else value < limit,
                    instead,
                )
            )
    for store in limits:
        rss = figures.get(f"{store}.rss_peak_mb")
        goals.append(
            Goal(
                f"RSS < 150 MB with {FLEET:,} devices (peak, the reading process), {store}",
                "—" if rss is None else f"{rss:.0f} MB",
                None if rss is None or not whole else rss < 150,
                instead,
            )
        )
    return goals + long_goals(figures)


def long_goals(figures: Mapping[str, float]) -> list[Goal]:
    points = int(figures.get("long.points", 0))
    goals = []
    for key, step, limit in (("long.1h_ms", "1-hour", 50.0), ("long.1min_ms", "1-minute", 500.0)):
        value = figures.get(key)
        goals.append(
            Goal(
                f"a 30-day series at a {step} step < {limit:,.0f} ms, "
                f"{LONG_POINTS // 1_000_000} M points stored",
                "—" if value is None else f"{value:.1f} ms ({points:,} points)",
                None if value is None or points < LONG_POINTS else value < limit,
                f"--long-points {LONG_POINTS}",
            )
        )
    return goals


def report(goals: Sequence[Goal]) -> list[str]:
    measured = [g for g in goals if g.met is not None]
    met = sum(1 for g in measured if g.met)
    return [
        *(g.line() for g in goals),
        f"  {met} of {len(measured)} measured goals met, {len(goals) - len(measured)} not "
        "measured by this run",
    ]
