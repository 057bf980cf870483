"""The villagers' API, open without an account: the form's needs, sending a report with a
photo, the private link's view, the photos; and its refusals, each a JSON error."""

from __future__ import annotations

import io

from PIL import Image
from report_kit import jpeg

URL = "/api/v1/public/reports"


def send(client, photos=(), **fields):
    data = {"category": "road", "description": "桥头有坑", "lat": "30.27", "lon": "120.15"}
    data.update(fields)
    # Always multipart, as a browser's FormData sends it, with or without photos.
    parts = [(key, (None, value)) for key, value in data.items()]
    parts += [("photo", (f"p{i}.jpg", p, "image/jpeg")) for i, p in enumerate(photos)]
    return client.post(URL, files=parts)


def test_the_form_lists_categories_questions_limits_and_the_plan(client) -> None:
    body = client.get(f"{URL}/form").json()
    codes = [c["code"] for c in body["categories"]]
    assert codes == ["road", "water", "lighting", "waste", "safety", "help", "other"]
    road = body["categories"][0]
    assert road["questions"][0]["code"] == "passable" and road["questions"][0]["values"]
    assert body["max_photos"] == 3
    assert {(m["lat"], m["water"]) for m in body["landmarks"]} == {(30.27, True), (30.271, False)}
    assert "g1" not in str(body["landmarks"])


def test_a_report_with_a_photo_answers_its_number_and_private_link(client) -> None:
    answer = send(
        client, [jpeg()], name="余云梅", phone="13800000000", **{"attribute[passable]": "no"}
    )
    assert answer.status_code == 201, answer.text
    taken = answer.json()
    assert taken["number"] == "20261202-0001"
    assert taken["status_url"] == f"/report/status#{taken['token']}"
    mine = client.get(f"{URL}/mine", headers={"X-Report-Token": taken["token"]})
    assert mine.status_code == 200
    view = mine.json()
    assert view["number"] == taken["number"] and view["status"] == "new"
    assert "余云梅" not in mine.text and "13800000000" not in mine.text
    photo = client.get(view["photos"][0])
    assert photo.headers["content-type"] == "image/jpeg"
    assert Image.open(io.BytesIO(photo.content)).size == (64, 48)


def test_a_report_without_photo_or_position_is_taken(client) -> None:
    answer = client.post(URL, data={"category": "help", "description": "老人需要帮忙"}, files={})
    # No file: the client sends a urlencoded form, which is not a report form.
    assert answer.status_code == 415
    answer = client.post(
        URL, files={"category": (None, "help"), "description": (None, "老人需要帮忙")}
    )
    assert answer.status_code == 201, answer.text


def test_a_wrong_token_finds_nothing(client) -> None:
    answer = client.get(f"{URL}/mine", headers={"X-Report-Token": "guessed"})
    assert answer.status_code == 404 and "link" in answer.json()["error"]


def test_refusals_are_json_errors_a_person_can_read(client) -> None:
    cases = [
        (send(client, category="nope"), 400, "no category"),
        (send(client, lat="north"), 400, "lat is a number"),
        (send(client, [b"GIF89a-not-really"]), 400, "not a photo"),
        (client.post(URL, json={"category": "road"}), 415, "multipart"),
    ]
    for answer, status, words in cases:
        assert answer.status_code == status, answer.text
        assert words in answer.json()["error"]


def test_a_body_over_the_limit_is_refused_unread(client) -> None:
    big = b"\xff" * (3 * 8_000_000 + 70_000)
    answer = send(client, [big])
    assert answer.status_code == 413 and "too big" in answer.json()["error"]


def test_an_unknown_photo_is_404(client) -> None:
    assert client.get(f"{URL}/photos/nothing-here").status_code == 404


def test_the_pages_are_served_without_an_account(client) -> None:
    for path in ("/report", "/report/status"):
        page = client.get(path)
        assert page.status_code == 200 and page.headers["referrer-policy"] == "no-referrer"
        assert "村情通" in page.text
