"""A live stream lasts only as long as the login that opened it."""

from __future__ import annotations

import itertools
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from integration.harness import make_service
from live_server import serve_http

from village_brain.auth.roles import Role
from village_brain.core.timefmt import now_ms
from village_brain.service import Service

pytestmark = pytest.mark.integration

PASSWORD = "river-bank-7"
# Streams ask this often here (5 s in service) so the tests need not wait long.
RECHECK_S = 0.2
# A stream that is still open this long after its login ended has outlived it.
ENDS_WITHIN_S = 10.0
_names = itertools.count()


@dataclass(frozen=True)
class Guarded:
    """A server that lets nobody read without logging in."""

    service: Service
    url: str
    data_dir: Path

    def account(self, role: Role = Role.VIEWER) -> str:
        name = f"reader-{next(_names)}"
        self.service.accounts.add(name, role, PASSWORD, now_ms())
        return name

    def token(self, name: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.service.accounts.add_token(name, now_ms())}"}


@pytest.fixture(scope="module")
def guarded(mosquitto, tmp_path_factory) -> Iterator[Guarded]:
    data_dir = tmp_path_factory.mktemp("live-access")
    service = make_service(mosquitto.url, data_dir, f"live-{time.monotonic_ns()}", anyone_as=None)
    service.start()
    try:
        with serve_http(service) as server:
            server.app.state.live_hub.recheck_s = RECHECK_S
            yield Guarded(service, server.url, data_dir)
    finally:
        service.stop()


def lines_until_the_stream_ends(
    client: httpx.Client, headers: dict[str, str], meanwhile: Callable[[], None]
) -> list[str]:
    """Opens the live feed, runs `meanwhile`, then reads until the server ends the stream."""
    with client.stream("GET", "/api/v1/live", headers=headers, timeout=ENDS_WITHIN_S) as stream:
        assert stream.status_code == 200
        lines = stream.iter_lines()
        assert next(lines).startswith("retry:")
        meanwhile()
        # Nothing is published here, so a stream that stays open times out reading.
        return list(lines)


def test_a_live_stream_ends_soon_after_its_dashboard_login_logs_out(guarded: Guarded) -> None:
    name = guarded.account()
    with httpx.Client(base_url=guarded.url) as browser:
        login = browser.post("/api/v1/auth/login", json={"name": name, "password": PASSWORD})
        csrf = {"X-CSRF-Token": login.json()["csrf_token"]}

        def log_out() -> None:
            assert browser.post("/api/v1/auth/logout", headers=csrf).status_code == 204

        lines_until_the_stream_ends(browser, {}, log_out)


def test_a_live_stream_ends_soon_after_its_token_is_revoked(guarded: Guarded) -> None:
    reader, admin = guarded.account(), guarded.account(Role.ADMIN)
    admin_token = guarded.token(admin)
    with httpx.Client(base_url=guarded.url) as client:

        def revoke() -> None:
            response = client.delete(f"/api/v1/users/{reader}/tokens", headers=admin_token)
            assert response.status_code == 204

        lines_until_the_stream_ends(client, guarded.token(reader), revoke)


def test_a_live_stream_ends_soon_after_its_account_is_removed_from_the_command_line(
    guarded: Guarded,
) -> None:
    name = guarded.account()
    command = [sys.executable, "-m", "village_brain.cli", "users", "remove", name]

    def remove() -> None:
        subprocess.run([*command, "--data-dir", str(guarded.data_dir)], check=True)

    with httpx.Client(base_url=guarded.url) as client:
        lines_until_the_stream_ends(client, guarded.token(name), remove)


def test_a_live_stream_goes_on_while_its_login_holds(guarded: Guarded) -> None:
    token = guarded.token(guarded.account())
    with httpx.stream("GET", guarded.url + "/api/v1/live", headers=token, timeout=10) as stream:
        lines = stream.iter_lines()
        next(lines)
        # Long enough for the stream to have asked again several times.
        time.sleep(5 * RECHECK_S)
        guarded.service.bus.publish("alert", {"id": "a-7"})
        assert next(line for line in lines if line.startswith("event:")) == "event: alert"
