"""The dashboard's HTTP side: pages and assets from the package, the live stream, /latest."""

from __future__ import annotations

import json
import re
import tracemalloc
from pathlib import Path

import httpx
import pytest
from live_server import stalled_live_client
from village_view import Village

from village_brain.dashboards.web.mount import STATIC_DIR

from support.waiting import wait_until

pytestmark = pytest.mark.integration


def test_the_overview_page_carries_the_configured_zone_and_language(village: Village) -> None:
    page = httpx.get(village.url + "/")
    config = json.loads(re.search(r'id="vb-config">(.*?)</script>', page.text).group(1))
    assert page.status_code == 200
    assert (config["timeZone"], config["language"]) == ("Asia/Shanghai", "zh")


def test_a_device_page_is_served_for_its_id(village: Village) -> None:
    page = httpx.get(f"{village.url}/devices/{village.devices[0].id}")
    assert page.status_code == 200
    assert f'"device": "{village.devices[0].id}"' in page.text


def test_scripts_are_served_from_the_package_as_javascript(village: Village) -> None:
    response = httpx.get(village.url + "/static/js/overview.js")
    assert response.status_code == 200
    assert "javascript" in response.headers["content-type"]


def test_no_asset_reaches_for_another_host() -> None:
    # The page must work in a village with no internet: no CDN, fonts or tiles by default.
    external = re.compile(r"(?:https?:)?//(?!www\.w3\.org/2000/svg)[a-z0-9.-]+\.[a-z]{2,}", re.I)
    found = {
        path.name: match.group(0)
        for path in Path(STATIC_DIR).rglob("*")
        if path.is_file() and (match := external.search(path.read_text("utf-8")))
    }
    assert found == {}


def test_latest_lists_every_device_with_its_newest_readings(village: Village) -> None:
    body = httpx.get(village.url + "/api/v1/latest").json()
    sensors = {entry["device"]: {r["sensor"] for r in entry["readings"]} for entry in body}
    assert sensors == {d.id: set(d.sensors) for d in village.devices}


def test_the_live_stream_forwards_what_the_bus_announces(village: Village) -> None:
    with httpx.stream("GET", village.url + "/api/v1/live", timeout=10) as stream:
        lines = stream.iter_lines()
        assert next(lines).startswith("retry:")
        village.service.bus.publish("alert", {"id": "a-1", "state": "active"})
        event = next(line for line in lines if line.startswith("event:"))
        data = next(lines)
    assert event == "event: alert"
    assert json.loads(data.removeprefix("data: ")) == {"id": "a-1", "state": "active"}


def test_a_client_that_disconnects_is_removed_from_the_live_feed(village: Village) -> None:
    hub = village.app.state.live_hub
    # Streams of earlier tests may still be closing.
    wait_until(lambda: hub.client_count == 0, timeout=10, what="earlier live clients to go")
    with httpx.stream("GET", village.url + "/api/v1/live", timeout=10) as stream:
        # Held for the whole block: a dropped line iterator closes the stream at once.
        lines = stream.iter_lines()
        next(lines)
        assert hub.client_count == 1
    wait_until(lambda: hub.client_count == 0, timeout=10, what="the live client to be removed")


def committed_batch(number: int, size: int) -> dict[str, list[dict[str, object]]]:
    """What the service announces for one committed batch, built afresh like the service does."""
    return {
        "readings": [
            {"village": "xiashan", "device": "gauge-1", "sensor": "water_level", "ts_ms": ts}
            | {"value": ts / 7}
            for ts in range(number * size, (number + 1) * size)
        ]
    }


def test_a_client_that_stops_reading_does_not_make_the_server_hold_what_is_published(
    village: Village,
) -> None:
    hub = village.app.state.live_hub
    wait_until(lambda: hub.client_count == 0, timeout=10, what="earlier live clients to go")
    with stalled_live_client(village.url):
        wait_until(lambda: hub.client_count == 1, what="the live client to be fed")
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            # 300,000 readings: as objects, some 100 MB.
            for number in range(300):
                village.service.bus.publish("readings", committed_batch(number, 1_000))
            held = tracemalloc.get_traced_memory()[0] - before
        finally:
            tracemalloc.stop()
    assert held < 16 * 2**20
