"""What the v2 line writer sends, and how it reads a refusal: a real HTTP receiver on loopback
stands in for the server."""

from __future__ import annotations

import gzip
import sys
from pathlib import Path

import pytest

from village_brain.core.config import InfluxSettings
from village_brain.store.influx_open import _line_writer
from village_brain.store.influx_write import Rejected, Unavailable, V2LineWriter

sys.path.insert(0, str(Path(__file__).parents[1] / "alerts"))
from receivers import receiving


def writer(url: str, token: str = "s3cret") -> V2LineWriter:
    return V2LineWriter(url.removesuffix("/hook"), "village", "ops", token, 5.0)


def test_lines_go_gzipped_to_the_v2_endpoint_with_bucket_org_and_millisecond_precision():
    with receiving(lambda _n: (204, {})) as server:
        writer(server.url).write("reading,device=g1 value=1.0 1")
    (request,) = server.received
    assert request.path == "/api/v2/write"
    assert request.query == {"org": "ops", "bucket": "village", "precision": "ms"}
    assert request.headers["content-encoding"] == "gzip"
    assert request.headers["authorization"] == "Token s3cret"
    assert gzip.decompress(request.body) == b"reading,device=g1 value=1.0 1"


def test_a_refusal_of_the_data_carries_the_servers_message():
    refusal = {"code": "unprocessable", "message": "field type conflict"}
    with receiving(lambda _n: (422, refusal)) as server, pytest.raises(Rejected) as refused:
        writer(server.url).write("x")
    assert "field type conflict" in str(refused.value)


def test_a_server_error_means_try_again_later():
    with receiving(lambda _n: (503, {"message": "busy"})) as server, pytest.raises(Unavailable):
        writer(server.url).write("x")


def test_1_8_credentials_are_sent_as_a_user_password_token():
    with receiving(lambda _n: (204, {})) as server:
        url = server.url.removesuffix("/hook")
        old = InfluxSettings(url=url, write_api="v2", username="u", password="p")
        _line_writer(old, None, 5.0).write("x")  # type: ignore[arg-type]
    assert server.received[0].headers["authorization"] == "Token u:p"
