"""Open311 GeoReport v2, read by georeport (a client from PyPI we did not write) from a real
HTTP server, and posted form-encoded as the specification describes.

georeport 0.3.1 reads but cannot post; the other client on PyPI, open311 1.1, is Python 2
only (it does not import on 3.11), so posts go through `requests`, georeport's own HTTP
library, with the specification's field names.
"""

from __future__ import annotations

import pytest
import requests
from georeport import GeoReport
from open311_kit import post

pytestmark = pytest.mark.integration


def test_the_services_are_the_report_categories(root) -> None:
    services = GeoReport(root).get_service_list()
    assert [s["service_code"] for s in services][:2] == ["road", "water"]
    road = services[0]
    assert road["service_name"] == "道路桥梁" and road["metadata"] is True
    assert road["type"] == "realtime" and road["group"] == "村建"


def test_a_service_definition_carries_the_categorys_questions(root) -> None:
    definition = GeoReport(root).get_service_definition("road")
    (attribute,) = definition["attributes"]
    assert attribute["code"] == "passable" and attribute["datatype"] == "singlevaluelist"
    assert attribute["variable"] is True and attribute["order"] == 1
    assert [v["key"] for v in attribute["values"]] == ["yes", "hard", "no"]


def test_a_posted_request_is_read_back_with_the_specifications_fields(root) -> None:
    answer = post(
        root,
        first_name="云梅",
        last_name="余",
        phone="13800000000",
        **{"attribute[passable]": "no", "address_string": "村口桥头"},
    )
    assert answer.status_code == 200, answer.text
    (created,) = answer.json()
    number = created["service_request_id"]
    assert number == "20261202-0001" and set(created) == {
        "service_request_id",
        "service_notice",
        "account_id",
    }
    read = GeoReport(root).get_service_request(number)
    assert read["status"] == "open" and read["service_code"] == "road"
    assert (read["lat"], read["long"], read["address"]) == (30.27, 120.15, "村口桥头")
    assert read["requested_datetime"] == "2026-12-02T10:00:00+08:00"
    assert read["agency_responsible"] == "村建" and read["expected_datetime"]
    # Names and phone numbers are for staff: Open311 shows neither.
    assert "13800000000" not in str(read) and "云梅" not in str(read)


def test_a_closed_request_shows_the_staffs_public_reply_as_status_notes(root, desk) -> None:
    (created,) = post(root).json()
    report = desk.store.report_by_number(created["service_request_id"])
    item = desk.store.item_for_report(report.id)
    desk.store.add_entry(item.id, "note", "内部备注", "duty", report.created_ms + 1)
    desk.store.add_entry(item.id, "reply", "已经填平", "duty", report.created_ms + 2, public=True)
    desk.store.update_item(item.id, report.created_ms + 3, status="resolved")
    client = GeoReport(root)
    (closed,) = client.get_service_requests(status="closed")
    assert closed["status"] == "closed" and closed["status_notes"] == "已经填平"
    assert closed["updated_datetime"] == "2026-12-02T10:00:00+08:00"
    assert client.get_service_requests(status="open") == []


def test_requests_are_searched_by_id_code_and_dates(root) -> None:
    first = post(root).json()[0]["service_request_id"]
    second = post(root, service_code="water", description="水管漏水").json()[0][
        "service_request_id"
    ]
    client = GeoReport(root)
    assert [r["service_request_id"] for r in client.get_service_requests(service_code="water")] == [
        second
    ]
    both = client.get_service_requests(service_request_id=f"{first},{second}")
    assert {r["service_request_id"] for r in both} == {first, second}
    assert client.get_service_requests(start_date="2026-12-03T00:00:00Z") == []


def test_the_xml_variant_reads_the_same(root) -> None:
    number = post(root).json()[0]["service_request_id"]
    client = GeoReport(root, output_format="xml")
    services = client.get_service_list()
    assert services[0]["service_code"] == "road" and services[0]["metadata"] == "true"
    one = client.get_service_request(number)
    assert one["service_request_id"] == number and one["status"] == "open"


def test_errors_are_a_list_of_code_and_description(root) -> None:
    cases = [
        (requests.get(f"{root}/requests/19990101-0001.json", timeout=30), 404),
        (requests.get(f"{root}/services/nope.json", timeout=30), 404),
        (post(root, service_code="nope"), 400),
        (post(root, lat="", long="", address_string=""), 400),
        (requests.get(f"{root}/requests.json?status=lost", timeout=30), 400),
    ]
    for answer, status in cases:
        assert answer.status_code == status, answer.text
        (error,) = answer.json()
        assert error["code"] == status and error["description"]


def test_an_xml_error_is_an_errors_element(root) -> None:
    answer = requests.get(f"{root}/requests/19990101-0001.xml", timeout=30)
    assert answer.status_code == 404
    assert answer.text.startswith("<?xml") and "<errors><error><code>404</code>" in answer.text
