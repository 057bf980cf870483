"""The running village: one reporting thread driving a paho client per device."""

from __future__ import annotations

import contextlib
import logging
import random
import threading
import time
from dataclasses import dataclass, field

from village_brain.core.catalog import Catalog, default_catalog
from village_brain.simulator.clock import SimClock
from village_brain.simulator.device import Event, Sample, SimulatedDevice
from village_brain.simulator.instruments import Instrument, traits_for
from village_brain.simulator.kinds import BY_NAME
from village_brain.simulator.layout import SimDevice
from village_brain.simulator.link import DeviceLink, broker_address
from village_brain.simulator.mishaps import Odds
from village_brain.simulator.obey import Obedience, Temper, controllable
from village_brain.simulator.payloads import (
    MAX_BACKLOG,
    NATIVE_CONTENT_TYPE,
    SENML_CONTENT_TYPE,
    event_payload,
    native_telemetry,
    senml_telemetry,
)
from village_brain.simulator.schedule import StrideSchedule, report_weight
from village_brain.simulator.weather import Weather

log = logging.getLogger(__name__)

# After a stall (a slow broker, a suspended laptop) catch up at most this much, not all of it.
_MAX_CATCH_UP_S = 0.25
_SHUTDOWN_WAIT_S = 3.0


@dataclass
class _Slot:
    sim: SimulatedDevice
    link: DeviceLink
    senml: bool
    backlog: list[Sample] = field(default_factory=list)
    pending_events: list[Event] = field(default_factory=list)
    obedience: Obedience | None = None  # lamps, valves, sirens: they obey commands


class Simulator:
    """Publishes a simulated village to an MQTT broker until stopped.

    `rate` is telemetry messages per second for the whole village, in real time; `speed` is
    simulated seconds per real second, so `speed=60` shows a day in 24 minutes.
    """

    def __init__(
        self,
        mqtt_url: str,
        layout: list[SimDevice],
        rate: float = 2.0,
        speed: float = 1.0,
        seed: int = 7,
        mqtt_version: str = "5",
        odds: Odds | None = None,
        temper: Temper | None = None,
    ) -> None:
        if rate <= 0:
            raise ValueError(f"rate must be above zero, not {rate}")
        if not layout:
            raise ValueError("the layout has no devices")
        host, port = broker_address(mqtt_url)
        self.catalog: Catalog = default_catalog()
        self.clock = SimClock(speed)
        self.rate = rate
        weather = Weather.seeded(seed)
        start_ms = self.clock.sim_ms()
        self._slots = [
            _Slot(
                sim=SimulatedDevice(
                    Instrument(device, traits_for(device, seed, start_ms), weather),
                    self.catalog,
                    random.Random(f"noise:{seed}:{device.id}"),
                    odds,
                ),
                link=DeviceLink(device, host, port, mqtt_version),
                senml=BY_NAME[device.kind].senml,
            )
            for device in layout
        ]
        for slot in self._slots:
            self._obey(slot, seed, temper)
        self._schedule = StrideSchedule(
            [report_weight(self.catalog, device.sensors) for device in layout]
        )
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.published = 0

    def _obey(self, slot: _Slot, seed: int, temper: Temper | None) -> None:
        device = slot.link.device
        targets = controllable(self.catalog, device.sensors)
        if not targets:
            return
        link = slot.link
        obedience = Obedience(
            device.village,
            device.id,
            self.catalog,
            targets,
            link.answer,
            random.Random(f"obey:{seed}:{device.id}"),
            temper,
            report=lambda values: link.publish(
                "telemetry",
                native_telemetry(Sample(self.clock.wall_ms(), dict(values))),
                NATIVE_CONTENT_TYPE,
            ),
        )
        slot.obedience = obedience
        link.on_command = obedience.on_command

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("the simulator is already running")
        for slot in self._slots:
            slot.link.open()
        self._thread = threading.Thread(target=self._run, name="village-simulator", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join()
        # Say offline on every link first and then wait once, not device by device.
        receipts = [slot.link.say_offline() for slot in self._slots]
        deadline = time.monotonic() + _SHUTDOWN_WAIT_S
        for receipt in receipts:
            if receipt is None:
                continue
            # If the broker went away meanwhile, its Last Will says offline for us.
            with contextlib.suppress(RuntimeError, ValueError):
                receipt.wait_for_publish(max(0.01, deadline - time.monotonic()))
        for slot in self._slots:
            slot.link.disconnect()

    def _run(self) -> None:
        period = 1.0 / self.rate
        due = time.monotonic()
        while not self._stopping.is_set():
            delay = due - time.monotonic()
            if delay > 0 and self._stopping.wait(delay):
                break
            due = max(due + period, time.monotonic() - _MAX_CATCH_UP_S)
            slot = self._slots[self._schedule.next()]
            try:
                self._report(slot)
            except Exception:
                # One device's trouble must not silence the village.
                log.exception("simulated device %s failed to report", slot.sim.device.id)

    def _report(self, slot: _Slot) -> None:
        wall_ms = self.clock.wall_ms()
        turn = slot.sim.turn(self.clock.sim_ms(wall_ms), wall_ms)
        link = slot.link
        if not turn.online and not link.unplugged:
            log.info("%s drops off the network (its Last Will says offline)", link.device.id)
            link.unplug()
        elif turn.online and link.unplugged:
            log.info("%s comes back and will send what it buffered", link.device.id)
            link.open()
        if slot.obedience is not None and slot.obedience.state:
            # What it was told to be wins over what the simulated day would make it.
            turn.sample.values.update(slot.obedience.state)
        slot.pending_events.extend(turn.events)
        if not link.connected:
            slot.backlog = [*slot.backlog, turn.sample][-MAX_BACKLOG:]
            return
        if slot.senml:
            payload = senml_telemetry(link.device.id, self.catalog, turn.sample, slot.backlog)
            link.publish("telemetry", payload, SENML_CONTENT_TYPE)
        else:
            payload = native_telemetry(turn.sample, slot.backlog)
            link.publish("telemetry", payload, NATIVE_CONTENT_TYPE)
        self.published += 1
        slot.backlog = []
        for event in slot.pending_events:
            link.publish("event", event_payload(event))
        slot.pending_events = []
