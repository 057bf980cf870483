"""One MQTT message in, readings and rejections out: the ingest's rules in one place.

No I/O happens here, so every rule can be tested with plain values. Whatever a message holds,
processing it ends in an Outcome: a failure no rule foresaw refuses that message alone
(`internal_error`), so one message can never stop the ingest.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import msgspec

from village_brain.control.records import CommandResult
from village_brain.control.wire import decode_result
from village_brain.core.catalog import Catalog
from village_brain.core.devices import Device
from village_brain.core.ids import id_problem
from village_brain.core.records import PayloadError, Problem, RawReading, Reading, Rejection
from village_brain.core.timefmt import is_time_ms, parse_time_ms
from village_brain.ingest.codecs import CodecRegistry
from village_brain.ingest.codecs.jsontext import check_depth
from village_brain.ingest.flood import EVENT_KEY, STATUS_KEY, FloodGuard
from village_brain.ingest.sources.base import DeviceReport, Reply
from village_brain.ingest.sources.router import NATIVE, Sources
from village_brain.ingest.topics import NATIVE_PREFIX, Address, parse_topic
from village_brain.ingest.validate import TimeWindow, check_reading
from village_brain.store.registry import Event

log = logging.getLogger(__name__)

EXCERPT_BYTES = 200
_SHOWN_ERROR_CHARS = 160
_EVENT_INT_BITS = 63  # integers in event data must fit a signed 64-bit integer


class InboundMessage(msgspec.Struct, frozen=True):
    topic: str
    payload: bytes
    received_ms: int
    content_type: str | None = None
    mid: int = 0
    qos: int = 0
    generation: int = 0  # which broker connection delivered it; acks go only to that one
    retain: bool = False  # the broker sent it from its store of retained messages
    # Posted over HTTP: a webhook body names its source and event rather than a topic, the
    # poster's token may speak only for one village (or one device of it), and the request
    # waits for `done`, which the writer calls with the outcome once it is committed.
    source: str = ""
    event: str = ""
    only_village: str = ""
    only_device: str = ""
    done: Callable[[Outcome], None] | None = None


class Limits(msgspec.Struct, frozen=True):
    max_payload_bytes: int
    max_readings_per_message: int
    window: TimeWindow


class Outcome(msgspec.Struct):
    """What one message changes. Our own topics name one device; a source's message may
    speak for several (a gateway's batch, an edge node going offline with its devices)."""

    readings: list[Reading] = msgspec.field(default_factory=list)
    rejections: list[Rejection] = msgspec.field(default_factory=list)
    new_devices: list[Device] = msgspec.field(default_factory=list)
    seen: list[tuple[str, int]] = msgspec.field(default_factory=list)
    statuses: list[tuple[str, str, int]] = msgspec.field(default_factory=list)  # device, word, ms
    events: list[Event] = msgspec.field(default_factory=list)
    replies: list[Reply] = msgspec.field(default_factory=list)  # sent once this is committed
    subscribe: list[str] = msgspec.field(default_factory=list)  # topic filters a source learnt
    source: str = NATIVE
    quiet: bool = False  # a source's message that carries nothing for us
    skipped: int = 0  # fields no field table maps
    repeated: bool = False  # a retained message sent again, whose refusal is already logged
    results: list[CommandResult] = msgspec.field(default_factory=list)  # answers to commands


class DeviceDirectory:
    """Which device ids exist and in which village: a fast in-memory view of the registry."""

    def __init__(self, devices: dict[str, str], auto_register: bool) -> None:
        self._village_of = dict(devices)
        self.auto_register = auto_register

    def add(self, device: str, village: str) -> None:
        self._village_of[device] = village

    def remove(self, device: str) -> None:
        self._village_of.pop(device, None)

    def admit(self, address: Address, foreign_id: str = "") -> Device | Problem | None:
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
        return Device(
            id=address.device, village=address.village, source="auto", foreign_id=foreign_id
        )


class Pipeline:
    def __init__(
        self,
        catalog: Catalog,
        codecs: CodecRegistry,
        directory: DeviceDirectory,
        limits: Limits,
        flood: FloodGuard | None = None,
        sources: Sources | None = None,
        on_results: Callable[[list[CommandResult]], None] | None = None,
    ) -> None:
        self.catalog = catalog
        self.codecs = codecs
        self.directory = directory
        self.limits = limits
        self.flood = flood
        self.sources = sources or Sources([])
        # Control keeps answers to commands before the broker is acknowledged (PROTOCOL §14).
        self.on_results = on_results

    def process(self, msg: InboundMessage) -> Outcome:
        outcome = Outcome()
        try:
            self._process(msg, outcome)
            if outcome.results and self.on_results is not None:
                self.on_results(outcome.results)
        except Exception as exc:  # a case no rule foresaw: refuse this message, keep going
            log.exception("internal error on a message to %s; it was refused", msg.topic[:256])
            return self.refusal(msg, exc, outcome.new_devices)
        return outcome

    def refusal(
        self, msg: InboundMessage, exc: BaseException, new_devices: list[Device] | None = None
    ) -> Outcome:
        """The message refused as a whole because processing or storing it raised `exc`."""
        try:
            address = parse_topic(msg.topic)
        except Exception:  # the topic may be what failed
            address = None
        problem = Problem("internal_error", _internal_detail(exc))
        # Devices registered before the failure stay registered: the directory already has them.
        outcome = Outcome(new_devices=list(new_devices or ()))
        self._reject(outcome, msg, problem, address if isinstance(address, Address) else None)
        return outcome

    def _process(self, msg: InboundMessage, outcome: Outcome) -> None:
        if not msg.topic.startswith(NATIVE_PREFIX):
            self._from_source(msg, outcome)
            return
        address = parse_topic(msg.topic)
        if address is None:
            outcome.quiet = True  # our own downlink (PROTOCOL §2): not ingest's to read
            return
        if isinstance(address, Problem):
            self._reject(outcome, msg, address, None)
            return
        if self._too_large(outcome, msg, address):
            return
        admitted = self.directory.admit(address)
        if isinstance(admitted, Problem):
            self._reject(outcome, msg, admitted, address)
            return
        if admitted is not None:
            outcome.new_devices.append(admitted)
        if address.channel == "telemetry":
            outcome.seen.append((address.device, msg.received_ms))
            self._telemetry(outcome, msg, address)
        elif address.channel == "status":
            self._status(outcome, msg, address)
        elif address.channel == "result":
            self._result(outcome, msg, address)
        else:
            self._event(outcome, msg, address)

    def _too_large(self, outcome: Outcome, msg: InboundMessage, address: Address | None) -> bool:
        if len(msg.payload) <= self.limits.max_payload_bytes:
            return False
        problem = Problem(
            "payload_too_large",
            f"payload is {len(msg.payload):,} bytes; the limit is "
            f"{self.limits.max_payload_bytes:,}",
        )
        self._reject(outcome, msg, problem, address)
        return True

    def _from_source(self, msg: InboundMessage, outcome: Outcome) -> None:
        """A message on another family's topics: its source's adapter reads it, then the
        same rules as for our own format apply to every device it speaks for."""
        source = (
            self.sources.named(msg.source) if msg.source else self.sources.source_for(msg.topic)
        )
        if source is None:
            detail = f"topic {msg.topic[:200]!r} is not ours and no configured source reads it"
            self._reject(outcome, msg, Problem("bad_topic", detail), None)
            return
        outcome.source = source.name
        if self._too_large(outcome, msg, None):
            return
        if msg.source:
            translation = source.adapter.translate_event(  # type: ignore[attr-defined]
                msg.event, msg.payload, msg.received_ms
            )
        else:
            translation = source.adapter.translate(
                msg.topic, msg.payload, msg.received_ms, msg.content_type
            )
        outcome.replies = translation.replies
        outcome.subscribe = self.sources.learn(source, translation.subscribe)
        outcome.quiet = translation.quiet
        outcome.results = translation.results
        for problem in translation.problems:
            self._reject(outcome, msg, problem, None)
        for report in translation.reports:
            self._report(outcome, msg, report)

    def _report(self, outcome: Outcome, msg: InboundMessage, report: DeviceReport) -> None:
        address = Address(report.village, report.device, "telemetry")
        problem = _not_allowed(msg, address)
        if problem is not None:
            self._reject(outcome, msg, problem, address)
            return
        admitted = self.directory.admit(address, report.foreign_id)
        if isinstance(admitted, Problem):
            self._reject(outcome, msg, admitted, address)
            return
        if admitted is not None:
            outcome.new_devices.append(admitted)
        for problem in report.problems:
            self._reject(outcome, msg, problem, address)
        outcome.skipped += len(report.skipped)
        if report.readings:
            outcome.seen.append((report.device, msg.received_ms))
            self._check_readings(outcome, msg, address, report.readings)
        if report.presence is not None and not self._flooding(
            outcome, msg, address, STATUS_KEY, msg.received_ms
        ):
            outcome.statuses.append((report.device, report.presence, msg.received_ms))
        if report.event is not None:
            event = _reported_event(report, msg.received_ms)
            if isinstance(event, Problem):
                self._reject(outcome, msg, event, address)
            else:
                self._keep_event(outcome, msg, address, event)

    def _telemetry(self, outcome: Outcome, msg: InboundMessage, address: Address) -> None:
        try:
            _, decoded = self.codecs.decode(msg.payload, msg.received_ms, msg.content_type)
        except PayloadError as exc:
            self._reject(outcome, msg, Problem(exc.reason, exc.detail), address)
            return
        for problem in decoded.problems:
            self._reject(outcome, msg, problem, address)
        self._check_readings(outcome, msg, address, decoded.readings)

    def _check_readings(
        self, outcome: Outcome, msg: InboundMessage, address: Address, raws: list[RawReading]
    ) -> None:
        limit = self.limits.max_readings_per_message
        if len(raws) > limit:
            detail = f"message has {len(raws):,} readings; only the first {limit:,} were kept"
            self._reject(outcome, msg, Problem("too_many_readings", detail), address)
            raws = raws[:limit]
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
        outcome.statuses.append((address.device, word, msg.received_ms))

    def _result(self, outcome: Outcome, msg: InboundMessage, address: Address) -> None:
        result = decode_result(msg.payload, address.village, address.device, msg.received_ms)
        if isinstance(result, Problem):
            self._reject(outcome, msg, result, address)
        else:
            outcome.results.append(result)

    def _event(self, outcome: Outcome, msg: InboundMessage, address: Address) -> None:
        event = _decode_event(msg, address)
        if isinstance(event, Problem):
            self._reject(outcome, msg, event, address)
            return
        self._keep_event(outcome, msg, address, event)

    def _keep_event(
        self, outcome: Outcome, msg: InboundMessage, address: Address, event: Event
    ) -> None:
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
        outcome.events.append(event)

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
        sensor = problem.sensor
        outcome.rejections.append(
            Rejection(
                at_ms=msg.received_ms,
                reason=problem.reason,
                detail=_storable(problem.detail),
                topic=_storable(msg.topic[:256]),
                village=address.village if address else None,
                device=address.device if address else None,
                sensor=_storable(sensor[:64]) if sensor is not None else None,
                excerpt=msg.payload[:EXCERPT_BYTES].decode("utf-8", "replace"),
            )
        )


def _not_allowed(msg: InboundMessage, address: Address) -> Problem | None:
    """Why the poster's token may not speak for this device, or None."""
    if msg.only_village and address.village != msg.only_village:
        detail = (
            f"the token posts for village {msg.only_village!r}, and device "
            f"{address.device!r} is reported in {address.village!r}"
        )
        return Problem("not_allowed", detail)
    if msg.only_device and address.device != msg.only_device:
        detail = f"the token posts for device {msg.only_device!r} only, not {address.device!r}"
        return Problem("not_allowed", detail)
    return None


def _storable(text: str) -> str:
    """Text that any store can take: JSON may carry lone surrogates, which UTF-8 cannot."""
    if text.isascii():
        return text
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _internal_detail(exc: BaseException) -> str:
    try:
        said = str(exc)
    except Exception:  # an exception may fail even to describe itself
        said = ""
    said = said[:_SHOWN_ERROR_CHARS] + ("..." if len(said) > _SHOWN_ERROR_CHARS else "")
    return (
        f"the server could not process this message ({type(exc).__name__}"
        f"{': ' + said if said else ''}); it was set aside so the rest are not held up, "
        "please report it with the excerpt"
    )


class _EventPayload(msgspec.Struct, forbid_unknown_fields=False):
    type: str
    ts: int | str | None = None
    data: dict[str, object] = {}


def _decode_event(msg: InboundMessage, address: Address) -> Event | Problem:
    try:
        check_depth(msg.payload)  # the data is stored and served as JSON: keep it shallow
        payload = msgspec.json.decode(msg.payload, type=_EventPayload)
    except PayloadError as exc:
        return Problem(exc.reason, exc.detail)
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
    if _has_huge_integer(payload.data):
        detail = "an integer in the event's data does not fit in 64 bits; send it as text"
        return Problem("bad_payload", detail)
    return Event(address.village, address.device, ts_ms, payload.type, payload.data)


def _reported_event(report: DeviceReport, received_ms: int) -> Event | Problem:
    reported = report.event
    assert reported is not None
    problem = id_problem("event type", reported.type)
    if problem:
        return Problem("bad_payload", problem)
    if _has_huge_integer(reported.data):
        return Problem("bad_payload", "an integer in the event's data does not fit in 64 bits")
    ts_ms = received_ms if reported.ts_ms is None else reported.ts_ms
    return Event(report.village, report.device, ts_ms, reported.type, reported.data)


def _event_time(ts: int | str) -> int:
    ms = ts if isinstance(ts, int) else parse_time_ms(ts)
    if not is_time_ms(ms):
        raise ValueError("'ts' is too far from 1970 to be a time")
    return ms


def _has_huge_integer(data: dict[str, object]) -> bool:
    """Whether the data holds an integer some JSON reader or writer would refuse."""
    pending: list[object] = [data]  # depth is already bounded; a list keeps the stack flat
    while pending:
        value = pending.pop()
        if isinstance(value, dict):
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)
        elif type(value) is int and value.bit_length() > _EVENT_INT_BITS:
            return True
    return False
