"""Accounts for tests of what people do to alerts: who did it comes from their token."""

from __future__ import annotations

from integration.harness import RunningService

from village_brain.auth.roles import Role


def operator_token(running: RunningService, name: str, role: Role = Role.OPERATOR) -> str:
    """A new account `name` with `role` on the running service, and an API token of it."""
    running.service.accounts.add(name, role, "river-bank-7", 0)
    return running.service.accounts.add_token(name, 0)
