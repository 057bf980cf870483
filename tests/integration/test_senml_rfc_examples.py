"""The SenML examples of RFC 8428 §5, published verbatim through the broker.

Most of them describe things a village does not measure (current in amperes, a GPS trace) or
carry 2010-era times, so the honest outcome is a stored reading where the catalog knows the
sensor and the time is fresh, and a named rejection for every other record.
"""

from pathlib import Path

import pytest

from support.waiting import wait_until

pytestmark = pytest.mark.integration

EXAMPLES = Path(__file__).parents[1] / "fixtures" / "senml"

# example → (what is stored, reasons for the records refused)
EXPECTED = {
    "single-datapoint": ({}, {"unknown_sensor"}),
    "multiple-datapoints": ({}, {"out_of_range", "unknown_sensor"}),
    "multiple-datapoints-timed": ({}, {"out_of_range", "unknown_sensor"}),
    "multiple-measurements": ({}, {"unknown_sensor"}),
    "resolved-data": ({}, {"unknown_sensor"}),
    "collection-of-resources": ({}, {"timestamp_too_old"}),
    "actuator-lights-on": ({}, {"unknown_sensor"}),
    "actuator-lights-off": ({}, {"unknown_sensor"}),
    "actuator-thermostat": ({"air_temperature": 23.1}, {"unknown_sensor"}),
    "multiple-data-types": ({"air_temperature": 23.1}, {"unknown_sensor", "wrong_type"}),
}


def test_every_rfc_example_is_a_fixture():
    assert {p.stem for p in EXAMPLES.glob("*.json")} == set(EXPECTED)


@pytest.mark.parametrize("example", sorted(EXPECTED))
def test_an_rfc_example_is_stored_or_refused_record_by_record(running, publisher, example):
    device = f"rfc-{example}"
    payload = (EXAMPLES / f"{example}.json").read_bytes()
    publisher.publish(f"village/rfc/{device}/telemetry", payload)
    stored, reasons = EXPECTED[example]
    # Every example has a record refused, committed with the rest of it. Not "a message
    # arrived": a retained message of another test on the shared broker may come first.
    wait_until(lambda: running.rejections(device=device), what="the message")
    assert running.latest(device) == stored
    assert {r["reason"] for r in running.rejections(device=device)} == reasons
