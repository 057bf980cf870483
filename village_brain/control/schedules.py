"""Daily switching schedules: street lamps on at dusk and off at dawn, or at fixed times.

Dusk, dawn, sunset and sunrise come from the `astral` library for the village's latitude and
longitude and the local date. Each switch is one command whose id is made from the schedule,
the device and the moment, so however often the schedule is looked at, a switch is sent
once; it expires when the next switch is due. A device that is away when its switch comes
gets it when it returns (the stage sends open commands again then), but only while the
window lasts, never after. A manual command in between is not fought: the schedule only
acts at its switching moments.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import re
from collections.abc import Callable, Iterator
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import msgspec
from astral import Observer
from astral import sun as astral_sun

from village_brain.control.records import CommandRequest, Origin, Refused
from village_brain.control.stage import ControlStage
from village_brain.core.catalog import Catalog
from village_brain.core.config import ConfigError, ScheduleSettings
from village_brain.core.devices import Device
from village_brain.core.timefmt import parse_duration_ms
from village_brain.store.registry import RegistryStore

log = logging.getLogger(__name__)

SUN_EVENTS: dict[str, Callable[..., datetime]] = {
    "dusk": astral_sun.dusk,
    "dawn": astral_sun.dawn,
    "sunset": astral_sun.sunset,
    "sunrise": astral_sun.sunrise,
}
_SPEC = re.compile(r"^(dusk|dawn|sunset|sunrise|(?:[01]\d|2[0-3]):[0-5]\d)(?:([+-])(\w+))?$")
LOOK_EVERY_MS = 30_000


class Moment(msgspec.Struct, frozen=True):
    """A time of day: a sun event or a fixed local time, moved by an offset."""

    anchor: str  # dusk, dawn, sunset, sunrise, or HH:MM
    offset_ms: int = 0

    @classmethod
    def parse(cls, text: str, where: str) -> Moment:
        match = _SPEC.match(text.strip().lower())
        if match is None:
            raise ConfigError(
                f"{where}: {text!r} is not a time such as dusk, dawn+15m, sunset-10m or 18:30"
            )
        anchor, sign, amount = match.groups()
        offset = 0
        if amount:
            try:
                offset = parse_duration_ms(amount)
            except ValueError as exc:
                raise ConfigError(f"{where}: {exc}") from None
        return cls(anchor, -offset if sign == "-" else offset)

    def on(self, day: date, observer: Observer, zone: ZoneInfo) -> datetime | None:
        """When this moment falls on local `day`; None where the sun does not do it then."""
        event = SUN_EVENTS.get(self.anchor)
        if event is None:
            hours, minutes = map(int, self.anchor.split(":"))
            at = datetime.combine(day, time(hours, minutes), zone)
        else:
            try:
                at = event(observer, date=day, tzinfo=zone)
            except ValueError:  # polar day or night: no dusk to speak of
                return None
        return at + timedelta(milliseconds=self.offset_ms)


class Window(msgspec.Struct, frozen=True):
    value: str  # what the target is switched to
    start_ms: int
    end_ms: int  # when the next switch is due


class Plan(msgspec.Struct, frozen=True):
    """One device's on and off moments."""

    on: Moment
    off: Moment


class Schedule:
    def __init__(self, settings: ScheduleSettings, catalog: Catalog) -> None:
        where = f"control.schedules {settings.name!r}"
        sensor = catalog.get(settings.target)
        if sensor is None or not sensor.controllable or sensor.kind != "boolean":
            raise ConfigError(f"{where}: target {settings.target!r} is no on/off control")
        try:
            self.zone = ZoneInfo(settings.time_zone)
        except Exception:
            raise ConfigError(f"{where}: {settings.time_zone!r} is not a time zone") from None
        self.settings = settings
        self.observer = Observer(latitude=settings.latitude, longitude=settings.longitude)
        words = sensor.command_values or [sensor.true_words[0], sensor.false_words[0]]
        self.on_word, self.off_word = words[0], words[1]
        self.plan = Plan(Moment.parse(settings.on, where), Moment.parse(settings.off, where))
        self.plans: dict[str, Plan] = {}
        self.skipped: set[str] = set()
        for device, exception in settings.exceptions.items():
            if "skip" in exception:
                self.skipped.add(device)
                continue
            unknown = set(exception) - {"on", "off"}
            if unknown:
                raise ConfigError(f"{where}: exception {device!r}: use on, off or skip")
            self.plans[device] = Plan(
                Moment.parse(exception.get("on", settings.on), f"{where}, {device}"),
                Moment.parse(exception.get("off", settings.off), f"{where}, {device}"),
            )

    def covers(self, device: Device) -> bool:
        s = self.settings
        return (
            device.village == s.village
            and device.id not in self.skipped
            and (not s.kind or device.kind == s.kind)
            and (not device.sensors or s.target in device.sensors)
        )

    def window_at(self, device: str, now_ms: int) -> Window | None:
        """The switch in force at `now_ms` for `device`, and when the next one is due."""
        plan = self.plans.get(device, self.plan)
        switches = sorted(self._switches(plan, now_ms))
        for (start, value), (end, _) in itertools.pairwise(switches):
            if start <= now_ms < end:
                return Window(value, start, end)
        return None

    def _switches(self, plan: Plan, now_ms: int) -> Iterator[tuple[int, str]]:
        today = datetime.fromtimestamp(now_ms / 1000, self.zone).date()
        for days in (-2, -1, 0, 1, 2):
            day = today + timedelta(days=days)
            for moment, value in ((plan.on, self.on_word), (plan.off, self.off_word)):
                at = moment.on(day, self.observer, self.zone)
                if at is not None:
                    yield round(at.timestamp() * 1000), value


class Schedules:
    """Every schedule, looked at every LOOK_EVERY_MS from the control stage's sweep."""

    def __init__(
        self, schedules: list[Schedule], stage: ControlStage, registry: RegistryStore
    ) -> None:
        self.schedules = schedules
        self.stage = stage
        self.registry = registry
        self._next_ms = 0

    @classmethod
    def from_settings(
        cls, settings: list[ScheduleSettings], stage: ControlStage, registry: RegistryStore
    ) -> Schedules:
        schedules = [Schedule(s, stage.catalog) for s in settings]
        for schedule in schedules:
            stage.store.note_schedule(schedule.settings.name, schedule.settings.model_dump_json())
        return cls(schedules, stage, registry)

    def tick(self, now_ms: int) -> None:
        if now_ms < self._next_ms:
            return
        self._next_ms = now_ms + LOOK_EVERY_MS
        devices = [row.device for row in self.registry.devices()]
        for schedule in self.schedules:
            for device in devices:
                if schedule.covers(device):
                    self._switch(schedule, device, now_ms)

    def _switch(self, schedule: Schedule, device: Device, now_ms: int) -> None:
        window = schedule.window_at(device.id, now_ms)
        if window is None:
            return
        name = schedule.settings.name
        expires_in = min(window.end_ms - now_ms, self.stage.timing.max_expiry_ms)
        request = CommandRequest(
            device=device.id,
            target=schedule.settings.target,
            value=window.value,
            expires_in_ms=max(1, expires_in),
            id=switch_id(name, device.id, window),
        )
        origin = Origin(by=f"schedule:{name}", where="schedule", why=f"{window.value} by schedule")
        try:
            self.stage.send(request, origin)
        except Refused as exc:
            log.warning("schedule %s could not switch %s: %s", name, device.id, exc)


def switch_id(schedule: str, device: str, window: Window) -> str:
    """The same for every look at the same switch: the store keeps it once."""
    key = f"{schedule}\0{device}\0{window.start_ms}\0{window.value}".encode()
    return "s-" + hashlib.sha256(key).hexdigest()[:24]
