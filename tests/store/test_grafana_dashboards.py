"""Every InfluxQL statement of the Grafana dashboards, run against a real InfluxDB 1.x.

Grafana fills in template variables and macros before it sends a query; the test does the
same with fixed values, then checks each statement returns the series the panel expects.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from village_brain.core.records import Reading
from village_brain.dashboards.grafana import Query, dashboards, queries
from village_brain.store.influx_lines import lines

T0 = 1_700_000_000_000 // 3_600_000 * 3_600_000
S = 1000  # one second, in ms

POINTS = [
    Reading("xiashan", "g1", "water_level", T0, 1.0),
    Reading("xiashan", "g1", "water_level", T0 + 30 * S, 2.5),
    Reading("xiashan", "g1", "water_level", T0 + 90 * S, 3.2),
    Reading("xiashan", "g1", "air_temperature", T0, 20.0),
    Reading("xiashan", "g1", "air_temperature", T0 + 30 * S, 22.0),
    Reading("xiashan", "g2", "water_level", T0 + 60 * S, 1.8),
    Reading("xiashan", "g2", "soil_moisture", T0, 40.0),
    Reading("other", "h1", "water_level", T0, 9.9),
]

# What Grafana would put in for a ten-minute range, a one-minute interval and one choice
# per variable (a single value needs no regex quoting).
SUBSTITUTIONS = {
    "$timeFilter": f"time >= {T0}ms and time <= {T0 + 600 * S}ms",
    "$__interval": "1m",
    "$village": "xiashan",
    "$device": "g1",
    "$sensor": "water_level",
}

# Per statement: tag values of each series -> rows as [seconds after T0, values...].
# Variables' statements list the tag values they offer.
EXPECTED: dict[str, Any] = {
    "variable village": ["other", "xiashan"],
    "variable device": ["g1", "g2"],
    "variable sensor": ["air_temperature", "water_level"],
    "panel Latest values": {("air_temperature",): [[30, 22.0]], ("water_level",): [[90, 3.2]]},
    "panel $sensor": {(): [[0, 1.0, 1.75, 2.5], [60, 3.2, 3.2, 3.2]]},
    "panel Latest reading of every sensor": {
        ("g1", "air_temperature"): [[30, 22.0]],
        ("g1", "water_level"): [[90, 3.2]],
        ("g2", "soil_moisture"): [[0, 40.0]],
        ("g2", "water_level"): [[60, 1.8]],
    },
    "panel Readings stored": {(): [[0, 5], [60, 2]] + [[60 * m, 0] for m in range(2, 11)]},
    "panel Air temperature": {("g1",): [[0, 21.0]]},
    "panel Soil moisture": {("g2",): [[0, 40.0]]},
    "panel Level now": {("g1",): [[90, 3.2]], ("g2",): [[60, 1.8]]},
    "panel River levels": {("g1",): [[0, 2.5], [60, 3.2]], ("g2",): [[60, 1.8]]},
}

ALL_QUERIES = [q for d in dashboards().values() for q in queries(d)]


@pytest.fixture(scope="module")
def database(influx_server) -> str:
    name = influx_server.create_database("grafana")
    assert influx_server.write_lines(name, lines(POINTS)).status_code == 204
    return name


def concrete(text: str) -> str:
    for placeholder, value in SUBSTITUTIONS.items():
        text = text.replace(placeholder, value)
    # A `$` before a name is a variable left over; before `/` it is a regex anchor.
    assert not re.search(r"\$[\w{]", text), f"unsubstituted variable in {text}"
    return text


def outcome(series: list[dict[str, Any]]) -> Any:
    if series and series[0]["columns"] == ["key", "value"]:
        return sorted(value for row in series for _, value in row["values"])
    return {
        tuple(v for _, v in sorted(row.get("tags", {}).items())): [
            [(ts - T0) // S, *values] for ts, *values in row["values"]
        ]
        for row in series
    }


def test_there_are_the_three_dashboards():
    assert sorted(d["title"] for d in dashboards().values()) == [
        "Device sensors",
        "River levels",
        "Village overview",
    ]


def test_every_panel_uses_the_provisioned_influxdb_data_source():
    for dashboard in dashboards().values():
        for panel in dashboard["panels"]:
            assert panel["datasource"] == {"type": "influxdb", "uid": "village-brain-influxdb"}


def test_the_river_levels_panel_draws_warning_and_danger_lines():
    river = dashboards()["vb-river-levels"]
    [levels] = [p for p in river["panels"] if p["title"] == "River levels"]
    defaults = levels["fieldConfig"]["defaults"]
    assert defaults["custom"]["thresholdsStyle"]["mode"].startswith("line")
    assert [s["value"] for s in defaults["thresholds"]["steps"]] == [None, 2.0, 3.0]


@pytest.mark.parametrize("query", ALL_QUERIES, ids=lambda q: f"{q.dashboard}: {q.source}")
def test_each_dashboard_query_returns_the_expected_series(query: Query, influx_server, database):
    series = influx_server.query(concrete(query.text), database)
    assert outcome(series) == EXPECTED[query.source]
