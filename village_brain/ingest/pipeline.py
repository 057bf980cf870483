"""One MQTT message in, readings and rejections out: the ingest's rules in one place.

No I/O happens here, so every rule can be tested with plain values.
"""

from __future__ import annotations

import msgspec

from village_brain.core.catalog import Catalog
from village_brain.core.devices import Device
from village_brain.core.ids import id_problem
from village_brain.core.records import PayloadError, Problem, Reading, Rejection
from village_brain.core.timefmt import parse_time_ms
from village_brain.ingest.codecs import CodecRegistry
from village_brain.ingest.flood import EVENT_KEY, STATUS_KEY, FloodGuard
from village_brain.ingest.topics import Address, parse_topic
from village_brain.ingest.validate import TimeWindow, check_reading
from village_brain.store.registry import Event

EXCERPT_BYTES = 200


class InboundMessage(msgspec.Struct, frozen=True):
    topic: str
    payload: bytes
    received_ms: int
    content_type: str | None = None
    mid: int = 0
    qos: int = 0
    generation: int = 0  # which broker connection delivered it; acks go only to that one


class Limits(msgspec.Struct, frozen=True):
    max_payload_bytes: int
    max_readings_per_message: int
    window: TimeWindow


class Outcome(msgspec.Struct):
    readings: list[Reading] = msgspec.field(default_factory=list)
    rejections: list[Rejection] = msgspec.field(default_factory=list)
    new_device: Device | None = None
    seen: tuple[str, int] | None = None
    status: tuple[str, str, int] | None = None  # device, online/offline, received_ms
    event: Event | None = None


class DeviceDirectory:
    """Which device ids exist and in which village: a fast in-memory view of the registry."""

    def __init__(self, devices: dict[str, str], auto_register: bool) -> None:
        self._village_of = dict(devices)
        self.auto_register = auto_register

    def add(self, device: str, village: str) -> None:
        self._village_of[device] = village

    def admit(self, address: Address) -> Device | Problem | None:
        """None when known, a new Device to register, or why the device is refused."""
        village = self._village_of.get(address.device)
        if village == address.village:
            return None
        if village is not None:
            return Problem(
                "wrong_village",
                f"device {address.device!r} is registered in village {village!r}, "
                f"not {address.village!r}",
            )
        if not self.auto_register:
            return Problem(
                "unknown_device",
                f"device {address.device!r} is not registered and registration is strict",
            )
        self._village_of[address.device] = address.village
        return Device(id=address.device, village=address.village, source="auto")


class Pipeline:
    def __init__(
        self,
        catalog: Catalog,
        codecs: CodecRegistry,
        directory: DeviceDirectory,
        limits: Limits,
        flood: FloodGuard | None = None,
    ) -> None:
        self.catalog = catalog
        self.codecs = codecs
        self.directory = directory
        self.limits = limits
        self.flood = flood

    def process(self, msg: InboundMessage) -> Outcome:
        outcome = Outcome()
        address = parse_topic(msg.topic)
        if isinstance(address, Problem):
            self._reject(outcome, msg, address, None)
            return outcome
        if len(msg.payload) > self.limits.max_payload_bytes:
            problem = Problem(
                "payload_too_large",
                f"payload is {len(msg.payload):,} bytes; the limit is "
                f"{self.limits.max_payload_bytes:,}",
            )
            self._reject(outcome, msg, problem, address)
            return outcome
        admitted = self.directory.admit(address)
        if isinstance(admitted, Problem):
            self._reject(outcome, msg, admitted, address)
            return outcome
        outcome.new_device = admitted
        if address.channel == "telemetry":
            outcome.seen = (address.device, msg.received_ms)
            self._telemetry(outcome, msg, address)
        elif address.channel == "status":
            self._status(outcome, msg, address)
        else:
            self._event(outcome, msg, address)
        return outcome

    def _telemetry(self, outcome: Outcome, msg: InboundMessage, address: Address) -> None:
        try:
            _, decoded = self.codecs.decode(msg.payload, msg.received_ms, msg.content_type)
        except PayloadError as exc:
            self._reject(outcome, msg, Problem(exc.reason, exc.detail), address)
            return
        raws = decoded.readings
        limit = self.limits.max_readings_per_message
        if len(raws) > limit:
            detail = f"message has {len(raws):,} readings; only the first {limit:,} were kept"
            self._reject(outcome, msg, Problem("too_many_readings", detail), address)
            raws = raws[:limit]
        for problem in decoded.problems:
            self._reject(outcome, msg, problem, address)
        for raw in raws:
            result = check_reading(
                raw,
                self.catalog,
                address.village,
                address.device,
                msg.received_ms,
                self.limits.window,
            )
            if isinstance(result, Problem):
                self._reject(outcome, msg, result, address)
            elif not self._flooding(outcome, msg, address, result.sensor, result.ts_ms):
                outcome.readings.append(result)

    def _status(self, outcome: Outcome, msg: InboundMessage, address: Address) -> None:
        word = msg.payload.decode("utf-8", "replace").strip().lower()
        if word not in ("online", "offline"):
            problem = Problem("bad_payload", f"status must be 'online' or 'offline', got {word!r}")
            self._reject(outcome, msg, problem, address)
            return
        if self._flooding(outcome, msg, address, STATUS_KEY, msg.received_ms):
            return
        outcome.status = (address.device, word, msg.received_ms)

    def _event(self, outcome: Outcome, msg: InboundMessage, address: Address) -> None:
        event = _decode_event(msg, address)
        if isinstance(event, Problem):
            self._reject(outcome, msg, event, address)
            return
        window = self.limits.window
        if not (
            msg.received_ms - window.max_backfill_ms
            <= event.ts_ms
            <= msg.received_ms + window.max_clock_skew_ms
        ):
            problem = Problem("bad_timestamp", "event timestamp is outside the accepted window")
            self._reject(outcome, msg, problem, address)
            return
        if self._flooding(outcome, msg, address, EVENT_KEY, event.ts_ms):
            return
        outcome.event = event

    def _flooding(
        self, outcome: Outcome, msg: InboundMessage, address: Address, key: str, ts_ms: int
    ) -> bool:
        if self.flood is None:
            return False
        problem = self.flood.check(address.device, key, ts_ms, msg.received_ms)
        if problem is not None:
            self._reject(outcome, msg, problem, address)
        return problem is not None

    @staticmethod
    def _reject(
        outcome: Outcome, msg: InboundMessage, problem: Problem, address: Address | None
    ) -> None:
        outcome.rejections.append(
            Rejection(
                at_ms=msg.received_ms,
                reason=problem.reason,
                detail=problem.detail,
                topic=msg.topic[:256],
                village=address.village if address else None,
                device=address.device if address else None,
                sensor=problem.sensor,
                excerpt=msg.payload[:EXCERPT_BYTES].decode("utf-8", "replace"),
            )
        )


class _EventPayload(msgspec.Struct, forbid_unknown_fields=False):
    type: str
    ts: int | str | None = None
    data: dict[str, object] = {}


def _decode_event(msg: InboundMessage, address: Address) -> Event | Problem:
    try:
        payload = msgspec.json.decode(msg.payload, type=_EventPayload)
    except msgspec.ValidationError as exc:
        return Problem("bad_payload", f"event must be an object with a 'type': {exc}")
    except msgspec.DecodeError as exc:
        return Problem("bad_json", f"event is not valid JSON: {exc}")
    problem = id_problem("event type", payload.type)
    if problem:
        return Problem("bad_payload", problem)
    try:
        ts_ms = msg.received_ms if payload.ts is None else _event_time(payload.ts)
    except ValueError as exc:
        return Problem("bad_timestamp", str(exc))
    return Event(address.village, address.device, ts_ms, payload.type, payload.data)


def _event_time(ts: int | str) -> int:
    return ts if isinstance(ts, int) else parse_time_ms(ts)
