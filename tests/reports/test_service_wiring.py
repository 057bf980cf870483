"""The running service takes reports: the phone page's API and Open311 answer on its HTTP
server, over the data directory's reports.sqlite3, and the reports outlive a restart."""

from __future__ import annotations

import time

import pytest
import requests
from dashboards.live_server import serve_http
from georeport import GeoReport
from integration.harness import make_service
from report_kit import jpeg

pytestmark = pytest.mark.integration


def test_a_report_sent_to_the_service_is_read_through_open311_after_a_restart(
    mosquitto, tmp_path
) -> None:
    data = tmp_path / "data"
    service = make_service(mosquitto.url, data, f"reports-{time.monotonic_ns()}", anyone_as=None)
    service.start()
    with serve_http(service) as server:
        answer = requests.post(
            f"{server.url}/api/v1/public/reports",
            files=[
                ("category", (None, "lighting")),
                ("description", (None, "路灯不亮")),
                ("lat", (None, "30.27")),
                ("lon", (None, "120.15")),
                ("photo", ("lamp.jpg", jpeg(), "image/jpeg")),
            ],
            timeout=30,
        )
        assert answer.status_code == 201, answer.text
    service.stop()
    number = answer.json()["number"]

    again = make_service(mosquitto.url, data, f"reports-{time.monotonic_ns()}", anyone_as=None)
    again.start()
    try:
        with serve_http(again) as server:
            read = GeoReport(f"{server.url}/open311/v2").get_service_request(number)
            assert read["service_code"] == "lighting" and read["status"] == "open"
            photo = requests.get(read["media_url"], timeout=30)
            assert photo.headers["content-type"] == "image/jpeg"
            # Staff pages stay closed to a caller without an account.
            assert requests.get(f"{server.url}/api/v1/devices", timeout=30).status_code == 401
    finally:
        again.stop()
    assert (data / "reports.sqlite3").exists()
