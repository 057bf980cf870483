"""The control stage: takes commands, sends them, follows them to their end.

`send(request, by=...)` is the one way in, for the API, the schedules and alert rule
actions alike. One thread (`run`) sends what is queued, re-sends what a device coming back
may have missed, and ends commands whose expiry or done-timeout has passed. Answers arrive
from ingest (`on_results`, on the writer's thread, before the broker is acknowledged) and
committed batches (`on_batch`: a reading that shows the asked-for state closes the loop).
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Callable, Sequence

import msgspec

from village_brain.control.downlinks import Downlinks
from village_brain.control.records import (
    Command,
    CommandRequest,
    CommandResult,
    Origin,
    Refused,
)
from village_brain.control.store import CommandStore
from village_brain.control.validate import check_command, is_dangerous
from village_brain.control.wire import OutgoingCommand, outgoing
from village_brain.core.bus import Bus
from village_brain.core.catalog import Catalog
from village_brain.core.devices import Device
from village_brain.core.ids import id_problem
from village_brain.core.records import Problem, Reading
from village_brain.core.timefmt import now_ms
from village_brain.store.registry import BatchRecord

log = logging.getLogger(__name__)

Publish = Callable[[OutgoingCommand], bool]  # True once the broker connection took it
FindDevice = Callable[[str], Device | None]
SWEEP_EVERY_S = 1.0


class Timing(msgspec.Struct, frozen=True):
    default_expiry_ms: int
    max_expiry_ms: int
    done_timeout_ms: int


class ControlStage:
    def __init__(
        self,
        store: CommandStore,
        catalog: Catalog,
        find_device: FindDevice,
        publish: Publish,
        timing: Timing,
        bus: Bus | None = None,
        clock: Callable[[], int] = now_ms,
        downlinks: Downlinks | None = None,
    ) -> None:
        self.downlinks = downlinks or Downlinks([])
        self.store = store
        self.catalog = catalog
        self.find_device = find_device
        self.publish = publish
        self.timing = timing
        self.bus = bus or Bus()
        self.clock = clock
        self.chores: list[Callable[[int], None]] = []  # run each sweep (schedules)
        # The least role that may command a target (control.command_roles); others: operator.
        self.command_roles: dict[str, str] = {}
        self._wake = threading.Event()
        self._resend: set[str] = set()  # devices that came back: send their open commands again
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._resend_all = False
        # Commands a downlink cannot address yet, and why: told once, not every sweep.
        self._unaddressable: dict[str, str] = {}

    # -- the way in ---------------------------------------------------------------------

    def send(self, request: CommandRequest, by: Origin) -> tuple[Command, bool]:
        """Queue a command; (the command, whether it is new). A repeat of an id already
        taken returns that command unchanged, or raises Refused when it asks otherwise."""
        device = self.find_device(request.device)
        if device is None:
            raise Refused(f"there is no device {request.device!r}", 404)
        value = check_command(self.catalog, device, request.target, request.value)
        if isinstance(value, Problem):
            raise Refused(value.detail)
        route = self.downlinks.for_device(device)
        if isinstance(route, str):
            raise Refused(route)
        if route is not None and (problem := route.check(request.target)):
            raise Refused(problem)
        command = self._new_command(request, device, value, by)
        stored, new = self.store.add(command)
        if not new and (stored.device, stored.target, stored.value, stored.args) != (
            command.device,
            command.target,
            command.value,
            command.args,
        ):
            raise Refused(f"command id {command.id!r} is taken by another command", 409)
        if new:
            log.info(
                "command %s: %s %s=%s by %s (%s)",
                stored.id,
                stored.device,
                stored.target,
                stored.value,
                by.by,
                by.why or "no reason given",
            )
            self._announce(stored)
            self._wake.set()
        return stored, new

    def least_role(self, target: str) -> str:
        return self.command_roles.get(target, "operator")

    def dangerous(self, target: str) -> bool:
        return is_dangerous(self.catalog, target)

    def get(self, command_id: str) -> Command | None:
        return self.store.get(command_id)

    def for_device(self, device: str, limit: int = 100) -> list[Command]:
        return self.store.for_device(device, limit)

    # -- answers from ingest ------------------------------------------------------------

    def on_results(self, results: Sequence[CommandResult]) -> None:
        for result in results:
            command = self.store.get(result.id)
            if command is None:  # a family's own request id (control/downlinks)
                result = self.downlinks.resolve(result, self.store.open_commands(result.device))
                command = self.store.get(result.id)
            if command is None or command.device != result.device:
                log.info(
                    "ignored a %s answer from %s for unknown command %s",
                    result.status,
                    result.device,
                    result.id,
                )
                continue
            moved = self.store.move(
                result.id, result.status, result.at_ms, result.reason, result.state or None
            )
            if moved is not None:
                self._announce(moved)

    def on_batch(self, readings: Sequence[Reading], record: BatchRecord) -> None:
        """Writer listener: readings that show a commanded state, devices that came back."""
        back = {device for device, (status, _) in record.statuses.items() if status == "online"}
        if back:
            with self._lock:
                self._resend |= back
            self._wake.set()
        for reading in readings:
            if (
                self.catalog.get(reading.sensor) is not None
                and self.catalog.types[reading.sensor].controllable
            ):
                self._confirm_by_reading(reading)

    def _confirm_by_reading(self, reading: Reading) -> None:
        for command in self.store.open_commands(reading.device):
            if command.target != reading.sensor or command.state == "queued":
                continue
            sent_ms = next((s.at_ms for s in command.steps if s.state == "sent"), None)
            wanted = check_command(
                self.catalog,
                Device(reading.device, reading.village),
                reading.sensor,
                command.value,
            )
            if sent_ms is None or reading.ts_ms < sent_ms or isinstance(wanted, Problem):
                continue
            if _same(self.catalog, reading, wanted):
                moved = self.store.move(
                    command.id,
                    "done",
                    self.clock(),
                    "the device's reading shows it",
                    {reading.sensor: command.value},
                )
                if moved is not None:
                    self._announce(moved)

    # -- the sending thread -------------------------------------------------------------

    def start(self) -> None:
        # After a restart, whatever was sent but not answered goes again: the broker may
        # never have had it, and the device takes a repeat of an id as the same command.
        self._resend_all = True
        self._thread = threading.Thread(target=self.run, name="control", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def wake(self) -> None:
        self._wake.set()

    def run(self) -> None:
        while not self._stop.is_set():
            try:
                self.sweep()
            except Exception:
                log.exception("the control sweep failed; trying again")
            self._wake.wait(SWEEP_EVERY_S)
            self._wake.clear()

    def sweep(self) -> None:
        """One round: end what is overdue, send what is queued, re-send what must go again."""
        now = self.clock()
        for chore in self.chores:
            try:
                chore(now)
            except Exception:
                log.exception("a control chore failed")
        with self._lock:
            resend, resend_all = set(self._resend), self._resend_all
        untaken = False
        for command in self.store.open_commands():
            if self._overdue(command, now):
                continue
            if command.state == "queued" or (
                command.state == "sent" and (resend_all or command.device in resend)
            ):
                untaken |= not self._dispatch(command, now)
        if not untaken:  # else the connection is down: send again at the next sweep
            with self._lock:
                self._resend -= resend
                self._resend_all = self._resend_all and not resend_all

    def _overdue(self, command: Command, now: int) -> bool:
        if command.state in ("queued", "sent") and now >= command.expires_ms:
            detail = (
                "the device did not take it before its expiry"
                if command.state == "sent"
                else "it could not be sent before its expiry"
            )
            if why := self._unaddressable.pop(command.id, None):
                detail = f"{detail}: {why}"
            moved = self.store.move(command.id, "expired", now, detail)
        elif command.state == "accepted":
            accepted_ms = next(s.at_ms for s in command.steps if s.state == "accepted")
            if now < accepted_ms + self.timing.done_timeout_ms:
                return False
            detail = "the device accepted it but did not say done or failed in time"
            moved = self.store.move(command.id, "timed_out", now, detail)
        else:
            return False
        if moved is not None:
            log.info("command %s %s: %s", command.id, moved.state, detail)
            self._announce(moved)
        return True

    def _dispatch(self, command: Command, now: int) -> bool:
        """Whether the broker connection took it."""
        try:
            taken = all(self.publish(out) for out in self._encode(command, now))
        except LookupError as exc:
            # The device's dialect cannot address it yet (ChirpStack before the device's
            # first uplink names its application): wait for that, or for the expiry.
            if self._unaddressable.get(command.id) != str(exc):
                log.warning("command %s cannot be sent yet: %s", command.id, exc)
                self._unaddressable[command.id] = str(exc)
            return False
        except Exception:
            log.exception("could not publish command %s", command.id)
            taken = False
        if not taken:
            return False  # stays as it is; the next sweep tries again, until its expiry
        self._unaddressable.pop(command.id, None)
        if command.state == "queued":
            moved = self.store.move(command.id, "sent", self.clock())
            if moved is not None:
                self._announce(moved)
        return True

    # -- helpers ------------------------------------------------------------------------

    def _encode(self, command: Command, now: int) -> list[OutgoingCommand]:
        """Our own format, or the dialect of the device's family (control/downlinks)."""
        device = self.find_device(command.device)
        route = None if device is None else self.downlinks.for_device(device)
        if device is None or route is None or isinstance(route, str):
            return [outgoing(command, now)]
        expiry_s = max(1, -(-(command.expires_ms - now) // 1000))
        return [
            OutgoingCommand(p.topic, p.payload, expiry_s, response_topic="", correlation=b"")
            for p in route.publications(command, device.foreign_id)
        ]

    def _new_command(
        self, request: CommandRequest, device: Device, value: str | float | None, by: Origin
    ) -> Command:
        now = self.clock()
        expires_in = self.timing.default_expiry_ms
        if request.expires_in_ms is not None:
            if not 0 < request.expires_in_ms <= self.timing.max_expiry_ms:
                longest = self.timing.max_expiry_ms // 1000
                raise Refused(f"a command may expire after 1 s to {longest} s")
            expires_in = request.expires_in_ms
        command_id = request.id or f"c-{secrets.token_hex(8)}"
        problem = id_problem("command", command_id)
        if problem:
            raise Refused(problem)
        return Command(
            id=command_id,
            village=device.village,
            device=device.id,
            target=request.target,
            value=value,
            args=dict(request.args),
            state="queued",
            created_ms=now,
            expires_ms=now + expires_in,
            origin=by,
        )

    def _announce(self, command: Command) -> None:
        self.bus.publish(
            "command",
            {
                "id": command.id,
                "device": command.device,
                "target": command.target,
                "state": command.state,
                "detail": command.detail,
            },
        )


def _same(catalog: Catalog, reading: Reading, wanted: str | float | None) -> bool:
    sensor = catalog.types[reading.sensor]
    if sensor.kind == "boolean":
        words = sensor.command_values or [sensor.true_words[0], sensor.false_words[0]]
        return (reading.value == 1.0) == (wanted == words[0])
    step = sensor.resolution or 0.0
    return isinstance(wanted, float) and abs(reading.value - wanted) <= step / 2 + 1e-9
