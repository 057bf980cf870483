"""With Open311 api_keys configured, posting needs one of them; reading stays open."""

from __future__ import annotations

import pytest
from georeport import GeoReport
from open311_kit import post
from pydantic import SecretStr

from village_brain.core.config import ReportSettings

pytestmark = pytest.mark.integration


@pytest.fixture
def report_settings() -> ReportSettings:
    return ReportSettings(open311_api_keys=[SecretStr("k-3f9")])


def test_a_post_without_a_key_or_with_a_wrong_one_is_refused(root) -> None:
    refused = post(root)
    assert refused.status_code == 403 and refused.json()[0]["code"] == 403
    assert post(root, api_key="wrong").status_code == 403


def test_a_post_with_a_configured_key_is_taken_and_reading_needs_none(root) -> None:
    number = post(root, api_key="k-3f9").json()[0]["service_request_id"]
    assert GeoReport(root).get_service_request(number)["status"] == "open"
