"""Building the control stage from the settings, on ingest's broker connection."""

from __future__ import annotations

from typing import TYPE_CHECKING

from village_brain.control.downlinks import Downlinks
from village_brain.control.mqtt import CommandPublisher
from village_brain.control.stage import ControlStage, Timing
from village_brain.control.store import CommandStore
from village_brain.core.bus import Bus
from village_brain.core.catalog import Catalog
from village_brain.core.config import ControlSettings, ScheduleSettings, Settings
from village_brain.core.devices import Device
from village_brain.core.timefmt import parse_duration_ms
from village_brain.ingest.sources.router import Sources
from village_brain.store.registry import RegistryStore

if TYPE_CHECKING:
    from village_brain.ingest.amqp_receiver import AmqpReceiver
    from village_brain.ingest.mqtt_client import MqttReceiver

CONTROL_FILE = "control.sqlite3"


def open_control(
    settings: Settings,
    catalog: Catalog,
    registry: RegistryStore,
    receiver: MqttReceiver | AmqpReceiver,  # commands go out on the input's connection
    bus: Bus,
    sources: Sources | None = None,
) -> ControlStage | None:
    control = settings.control
    if not control.enabled:
        return None

    def find_device(device_id: str) -> Device | None:
        row = registry.device(device_id)
        return None if row is None else row.device

    stage = ControlStage(
        CommandStore(settings.store.data_dir / CONTROL_FILE, settings.store.sqlite_synchronous),
        catalog,
        find_device,
        CommandPublisher(receiver.client, receiver.connected, v5=receiver._v5),
        timing(control),
        bus,
        downlinks=Downlinks.of(sources, catalog) if sources is not None else None,
    )
    stage.command_roles = dict(control.command_roles)
    schedules = _schedules(settings)
    if schedules:
        # Imported here so a server without schedules never loads the astronomy library.
        from village_brain.control.schedules import Schedules

        stage.chores.append(Schedules.from_settings(schedules, stage, registry).tick)
    return stage


def _schedules(settings: Settings) -> list[ScheduleSettings]:
    """The configured schedules; with --demo and none configured, the simulated villages'
    street lamps on at dusk and off at dawn."""
    if settings.control.schedules or not settings.demo:
        return settings.control.schedules
    from village_brain.simulator.layout import VILLAGES

    return [
        ScheduleSettings(name=f"demo-lamps-{v.id}", village=v.id, latitude=v.lat, longitude=v.lon)
        for v in VILLAGES
    ]


def timing(control: ControlSettings) -> Timing:
    return Timing(
        default_expiry_ms=parse_duration_ms(control.default_expiry),
        max_expiry_ms=parse_duration_ms(control.max_expiry),
        done_timeout_ms=parse_duration_ms(control.done_timeout),
    )
