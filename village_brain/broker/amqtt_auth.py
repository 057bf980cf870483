"""amqtt authentication for the embedded fallback broker: accept every client as identified.

amqtt's stock anonymous plugin marks each client it admits as anonymous, and
amqtt then drops that client's persistent session and queue on disconnect,
which would defeat ingest's persistent session. The fallback only listens on
an address the operator chose for it, so admitting every client is the same
policy as Mosquitto's `allow_anonymous true`.
"""

from __future__ import annotations

from dataclasses import dataclass

from amqtt.plugins.base import BaseAuthPlugin
from amqtt.session import Session


class AcceptAllClients(BaseAuthPlugin):
    @dataclass
    class Config:
        pass

    async def authenticate(self, *, session: Session) -> bool | None:
        return True
