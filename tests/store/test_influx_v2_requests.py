"""What the v2 line writer sends, and how it reads a refusal (httpx's mock transport)."""

from __future__ import annotations

import gzip

import httpx
import pytest

from village_brain.core.config import InfluxSettings
from village_brain.store.influx_open import _line_writer
from village_brain.store.influx_write import Rejected, Unavailable, V2LineWriter


def writer(handler) -> V2LineWriter:
    client = httpx.Client(base_url="http://influx.test", transport=httpx.MockTransport(handler))
    return V2LineWriter(client, "village", "ops")


def test_lines_go_gzipped_to_the_v2_endpoint_with_bucket_org_and_millisecond_precision():
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    writer(handler).write("reading,device=g1 value=1.0 1")
    (request,) = seen
    assert request.url.path == "/api/v2/write"
    assert dict(request.url.params) == {"org": "ops", "bucket": "village", "precision": "ms"}
    assert request.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(request.content) == b"reading,device=g1 value=1.0 1"


def test_a_refusal_of_the_data_carries_the_servers_message():
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(422, json={"code": "unprocessable", "message": "field type conflict"})

    with pytest.raises(Rejected, match="field type conflict"):
        writer(handler).write("x")


def test_a_server_error_means_try_again_later():
    with pytest.raises(Unavailable, match="503"):
        writer(lambda request: httpx.Response(503, text="busy")).write("x")


def test_the_v2_token_is_sent_as_a_token_header_and_1_8_credentials_as_user_password():
    token = InfluxSettings(url="http://influx.test", write_api="v2", token="s3cret")
    assert _line_writer(token, httpx.Client(), 1.0).client.headers["Authorization"] == (
        "Token s3cret"
    )
    old = InfluxSettings(url="http://influx.test", write_api="v2", username="u", password="p")
    assert _line_writer(old, httpx.Client(), 1.0).client.headers["Authorization"] == "Token u:p"
