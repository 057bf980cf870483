"""Many logins at once against a real `village-brain serve`: memory stays flat, limits hold.

Argon2 takes 64 MiB for each password it checks, so the number checked at once, not the number
of logins sent, must set the server's memory; and failures must be counted before checking, or
a burst of guesses all pass the limit together.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from login_support import PASSWORD

from village_brain.auth.accounts import AccountStore
from village_brain.auth.commands import ACCOUNTS_FILE
from village_brain.auth.hashing import ARGON2_MEMORY_KIB, CHECKS_AT_ONCE
from village_brain.auth.roles import Role

from support.ports import free_port
from support.waiting import wait_until

pytestmark = pytest.mark.integration

PER_ACCOUNT = 5
MIB = 1024 * 1024


@dataclass(frozen=True)
class Server:
    url: str
    pid: int
    token: str

    def status_kib(self, field: str) -> int:
        """VmRSS (resident now) or VmHWM (the most resident since the last reset), in KiB."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1])
        raise AssertionError(f"no {field} in /proc/{self.pid}/status")

    def reset_peak(self) -> None:
        Path(f"/proc/{self.pid}/clear_refs").write_text("5")


@pytest.fixture
def server(tmp_path: Path, mosquitto) -> Iterator[Server]:
    """The whole service in a process of its own, so /proc shows its memory alone."""
    data = tmp_path / "data"
    data.mkdir()
    accounts = AccountStore(data / ACCOUNTS_FILE)
    accounts.add("operator", Role.OPERATOR, PASSWORD, 0)
    accounts.add("viewer", Role.VIEWER, PASSWORD, 0)
    token = accounts.add_token("viewer", 0)
    accounts.close()
    port = free_port("127.0.0.1")
    env = {
        **os.environ,
        "VILLAGE_BRAIN_MQTT__CLIENT_ID": f"login-flood-{time.monotonic_ns()}",
        "VILLAGE_BRAIN_AUTH__LOGIN_FAILURES_PER_ACCOUNT": str(PER_ACCOUNT),
        # Random names from one address: the per-address limit must not be what saves us here.
        "VILLAGE_BRAIN_AUTH__LOGIN_FAILURES_PER_ADDRESS": "100000",
    }
    command = [str(Path(sys.executable).with_name("village-brain")), "serve"]
    command += ["--mqtt-url", mosquitto.url, "--data-dir", str(data)]
    command += ["--http", f"127.0.0.1:{port}"]
    log = (tmp_path / "serve.log").open("wb")
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: _answers(url) or process.poll() is not None, what="serve to answer")
        assert process.poll() is None, (tmp_path / "serve.log").read_text()
        yield Server(url, process.pid, token)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(30)
        log.close()


def _answers(url: str) -> bool:
    try:
        return httpx.get(f"{url}/api/v1/auth/me", timeout=2).status_code == 401
    except httpx.TransportError:
        return False


async def _logins(url: str, attempts: list[tuple[str, str]]) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=len(attempts))
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=120) as client:
        return await asyncio.gather(
            *(
                client.post("/api/v1/auth/login", json={"name": name, "password": password})
                for name, password in attempts
            )
        )


def log_in_all_at_once(server: Server, attempts: list[tuple[str, str]]) -> Counter[int]:
    return Counter(r.status_code for r in asyncio.run(_logins(server.url, attempts)))


def test_forty_logins_at_once_hold_only_a_few_argon2_buffers(server: Server) -> None:
    assert log_in_all_at_once(server, [("operator", PASSWORD)]) == {200: 1}
    before_kib = server.status_kib("VmRSS")
    server.reset_peak()
    flood = [(f"nobody-{secrets.token_hex(6)}", secrets.token_hex(8)) for _ in range(40)]
    statuses = log_in_all_at_once(server, flood)
    grown = (server.status_kib("VmHWM") - before_kib) * 1024
    print(
        f"\n40 logins at once: {statuses}; resident {before_kib // 1024} MiB before, "
        f"peak {grown / MIB:.0f} MiB above it"
    )
    assert set(statuses) <= {401, 429}
    # One Argon2 buffer per check running, and one more for everything else.
    assert grown < (CHECKS_AT_ONCE + 1) * ARGON2_MEMORY_KIB * 1024


def test_sixty_wrong_passwords_at_once_are_checked_at_most_the_limit(server: Server) -> None:
    guesses = [("operator", f"guess-{n}") for n in range(60)]
    statuses = log_in_all_at_once(server, guesses)
    print(f"\n60 wrong passwords at once: {statuses}")
    # 401 means the password was checked and found wrong; 429, refused without a check.
    assert statuses[401] <= PER_ACCOUNT
    assert statuses[401] + statuses[429] == 60
