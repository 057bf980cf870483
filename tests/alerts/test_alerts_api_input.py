"""Wrong input to the alerts API gets a 4xx with a readable reason, never a server error."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.integration

RULE = {"name": "River", "severity": "major", "kind": "threshold", "sensor": "water_level"}


def put_raw(running, rule_id: str, json_text: str):
    return running.api.put(
        f"/api/v1/rules/{rule_id}",
        content=json_text.encode(),
        headers={"content-type": "application/json"},
    )


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity"])
def test_a_rule_with_a_threshold_that_is_not_a_finite_number_is_refused(start_service, number):
    running = start_service()
    body = '{"name": "River", "severity": "major", "kind": "threshold", '
    answer = put_raw(running, "river_nan", body + f'"sensor": "water_level", "above": {number}}}')
    assert answer.status_code == 422
    assert "above must be a finite number" in answer.json()["error"]
    assert running.api.get("/api/v1/rules/river_nan").status_code == 404


def test_a_rule_id_ending_in_a_line_break_is_refused(start_service):
    running = start_service()
    created = running.api.post("/api/v1/rules", json={**RULE, "id": "river\n", "above": 2.0})
    assert created.status_code == 422
    assert "line break" in created.json()["error"]
    put = running.api.put("/api/v1/rules/river%0A", json={**RULE, "above": 2.0})
    assert put.status_code == 422
    assert "line break" in put.json()["error"]


def test_a_rule_holding_for_an_absurd_time_is_refused_with_the_limit(start_service):
    running = start_service()
    answer = running.api.put(
        "/api/v1/rules/slow", json={**RULE, "above": 2.0, "for": "9" * 400 + "s"}
    )
    assert answer.status_code == 422
    assert "for" in answer.json()["error"] and "too long a duration" in answer.json()["error"]


def test_a_rule_holding_for_longer_than_a_year_is_refused_with_the_rules_limit(start_service):
    running = start_service()
    answer = running.api.put("/api/v1/rules/slow", json={**RULE, "above": 2.0, "for": "400d"})
    assert answer.status_code == 422
    assert "for" in answer.json()["error"] and "at most 366d" in answer.json()["error"]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/v1/alerts/99999999999999999999999"),
        ("get", "/api/v1/alerts/99999999999999999999999/timeline"),
        ("post", "/api/v1/alerts/99999999999999999999999/ack"),
        ("get", "/api/v1/deliveries?alert=99999999999999999999999"),
    ],
)
def test_an_alert_id_too_large_to_exist_is_refused(start_service, method, path):
    running = start_service()
    answer = running.api.request(method, path, json={} if method == "post" else None)
    assert answer.status_code == 422
    assert "alert" in answer.json()["error"]
