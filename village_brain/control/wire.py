"""Commands and results as they travel over MQTT (PROTOCOL.md §14)."""

from __future__ import annotations

from typing import Literal

import msgspec

from village_brain.control.records import Command, CommandResult
from village_brain.core.ids import id_problem
from village_brain.core.records import PayloadError, Problem
from village_brain.ingest.codecs.jsontext import check_depth

COMMAND = "command"
RESULT = "command/result"


def command_topic(village: str, device: str) -> str:
    return f"village/{village}/{device}/{COMMAND}"


def result_topic(village: str, device: str) -> str:
    return f"village/{village}/{device}/{RESULT}"


class CommandPayload(msgspec.Struct, frozen=True, omit_defaults=True):
    """What the device receives. `expires` and `reply_to` repeat the MQTT 5 message expiry
    and response topic for MQTT 3.1.1 devices, which have neither."""

    id: str
    target: str
    expires: int  # epoch milliseconds
    reply_to: str
    value: str | float | None = None
    args: dict[str, object] = {}


class OutgoingCommand(msgspec.Struct, frozen=True):
    """One publication: topic, payload and the MQTT 5 properties that go with it."""

    topic: str
    payload: bytes
    expiry_s: int  # MQTT 5 message expiry interval, at least 1
    response_topic: str
    correlation: bytes


def outgoing(command: Command, now_ms: int) -> OutgoingCommand:
    reply_to = result_topic(command.village, command.device)
    payload = CommandPayload(
        id=command.id,
        target=command.target,
        value=command.value,
        args=command.args,
        expires=command.expires_ms,
        reply_to=reply_to,
    )
    return OutgoingCommand(
        topic=command_topic(command.village, command.device),
        payload=msgspec.json.encode(payload),
        # Rounded up, so the broker never drops a command before the time we tell the device.
        expiry_s=max(1, -(-(command.expires_ms - now_ms) // 1000)),
        response_topic=reply_to,
        correlation=command.id.encode(),
    )


class _ResultPayload(msgspec.Struct, frozen=True):
    id: str
    status: Literal["accepted", "done", "failed"]
    state: dict[str, object] = {}
    reason: str = ""


def decode_result(
    payload: bytes, village: str, device: str, received_ms: int
) -> CommandResult | Problem:
    try:
        check_depth(payload)
        result = msgspec.json.decode(payload, type=_ResultPayload)
    except PayloadError as exc:
        return Problem(exc.reason, exc.detail)
    except msgspec.ValidationError as exc:
        detail = f"a command result needs an 'id' and a 'status' of accepted/done/failed: {exc}"
        return Problem("bad_payload", detail)
    except msgspec.DecodeError as exc:
        return Problem("bad_json", f"command result is not valid JSON: {exc}")
    problem = id_problem("command", result.id)
    if problem:
        return Problem("bad_payload", problem)
    return CommandResult(
        village=village,
        device=device,
        id=result.id,
        status=result.status,
        at_ms=received_ms,
        state=result.state,
        reason=result.reason[:500],
    )
