"""What the account tests share: the one password, a hand-moved clock, logging in."""

from __future__ import annotations

from fastapi.testclient import TestClient

PASSWORD = "river-bank-7"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def log_in(client: TestClient, name: str, password: str = PASSWORD) -> str:
    """Logs the client in (it keeps the cookie) and returns the CSRF token."""
    response = client.post("/api/v1/auth/login", json={"name": name, "password": password})
    assert response.status_code == 200, response.text
    return response.json()["csrf_token"]
