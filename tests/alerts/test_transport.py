"""The delivery client against real receivers, with only name resolution (and, for one public
address, the internet beyond) played by the test: it connects to the address it checked,
and keeps the name for TLS."""

from __future__ import annotations

import json
import socket
import ssl
from collections.abc import Iterator
from itertools import cycle

import pytest
import trustme
from receivers import receiving

from village_brain.alerts.records import Delivery, Webhook
from village_brain.alerts.sender import attempt
from village_brain.alerts.signing import new_secret
from village_brain.alerts.transport import delivery_client
from village_brain.core.timefmt import now_ms

pytestmark = pytest.mark.integration

PUBLIC = "1.2.3.4"  # a public address, never really connected to (see `names`)
BODY = json.dumps({"type": "alert.firing", "data": {"id": 1}})


def delivery() -> Delivery:
    return Delivery(1, "wh_1", 1, "msg_alert1_1", "alert.firing", BODY, "sending", 0, now_ms())


def webhook(url: str) -> Webhook:
    return Webhook("wh_1", url, "standard", new_secret(), now_ms())


class Names:
    """The system resolver, answering chosen names with chosen addresses in turn, round and
    round, as a DNS server with a zero TTL may. Connections to PUBLIC are refused here (and
    noted), so no test sends anything to the internet."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.served: dict[str, Iterator[str]] = {}
        self.public_connections = 0
        self._getaddrinfo = socket.getaddrinfo
        self._create_connection = socket.create_connection
        monkeypatch.setattr(socket, "getaddrinfo", self.getaddrinfo)
        monkeypatch.setattr(socket, "create_connection", self.create_connection)

    def __call__(self, host: str, answers: list[str]) -> None:
        self.served[host] = cycle(answers)

    def getaddrinfo(self, host, port, *args, **kwargs):
        if host in self.served:
            host = next(self.served[host])
        return self._getaddrinfo(host, port, *args, **kwargs)

    def create_connection(self, address, *args, **kwargs):
        if address[0] == PUBLIC:
            self.public_connections += 1
            raise ConnectionRefusedError(f"{PUBLIC} refused the connection")
        return self._create_connection(address, *args, **kwargs)


@pytest.fixture
def names(monkeypatch) -> Names:
    return Names(monkeypatch)


def test_a_name_rebound_to_loopback_after_the_check_never_reaches_a_local_receiver(names):
    with receiving() as receiver:
        names("hooks.rebind.test", [PUBLIC, "127.0.0.1"])
        hook = webhook(f"http://hooks.rebind.test:{receiver.port}/hook")
        with delivery_client(timeout_s=0.5, allow_private=False) as client:
            results = [attempt(client, hook, delivery(), now_ms()) for _ in range(4)]
    assert receiver.received == []
    assert names.public_connections == 2  # the checked public answers were connected to
    assert [r.ok for r in results] == [False] * 4
    assert sum("resolves to 127.0.0.1" in (r.error or "") for r in results) == 2


def test_a_name_resolving_to_an_allowed_address_is_delivered_with_its_own_host_header(names):
    with receiving() as receiver:
        names("hooks.lan.test", ["127.0.0.1"])
        hook = webhook(f"http://hooks.lan.test:{receiver.port}/hook")
        with delivery_client(timeout_s=5, allow_private=True) as client:
            result = attempt(client, hook, delivery(), now_ms())
    assert result.ok
    (request,) = receiver.received
    assert request.headers["host"] == f"hooks.lan.test:{receiver.port}"


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


def server_context(ca: trustme.CA, name: str) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(name).configure_cert(context)
    return context


def client_context(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return context


def test_https_to_a_checked_address_verifies_the_certificate_of_the_name(names, ca):
    with receiving(tls=server_context(ca, "hooks.tls.test")) as receiver:
        names("hooks.tls.test", ["127.0.0.1"])
        hook = webhook(f"https://hooks.tls.test:{receiver.port}/hook")
        with delivery_client(5, allow_private=True, verify=client_context(ca)) as client:
            result = attempt(client, hook, delivery(), now_ms())
    assert result.ok, result.error
    assert len(receiver.received) == 1


def test_https_to_a_server_with_another_names_certificate_is_refused(names, ca):
    with receiving(tls=server_context(ca, "someone-else.test")) as receiver:
        names("hooks.tls.test", ["127.0.0.1"])
        hook = webhook(f"https://hooks.tls.test:{receiver.port}/hook")
        with delivery_client(5, allow_private=True, verify=client_context(ca)) as client:
            result = attempt(client, hook, delivery(), now_ms())
    assert not result.ok
    assert "CERTIFICATE_VERIFY_FAILED" in (result.error or "")
    assert receiver.received == []
