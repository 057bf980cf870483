"""Devices: what the registry knows of each one, and the registry file format."""

from __future__ import annotations

import tomllib
from pathlib import Path

import msgspec

from village_brain.core.ids import id_problem


class Device(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    id: str
    village: str
    kind: str = "unknown"
    name: str = ""
    place: str = ""
    lat: float | None = None
    lon: float | None = None
    sensors: tuple[str, ...] = ()
    source: str = "file"  # file, api or auto (registered on first message)
    foreign_id: str = ""  # its id in its own family's dialect, when a source registered it


class Presence(msgspec.Struct, frozen=True):
    """What ingest has seen of a device, every time by receipt.

    `last_seen_ms` is the latest telemetry message, whether or not its readings were stored;
    `last_stored_ms` the latest message of which a reading or an event was stored (or had
    been already, when the broker sent it again); `last_refused_*` the latest message of
    which anything was refused, and the reason.
    """

    last_seen_ms: int | None = None
    status: str | None = None
    status_ms: int | None = None
    last_stored_ms: int | None = None
    last_refused_ms: int | None = None
    last_refused_reason: str | None = None


def load_devices_file(path: Path, known_sensors: set[str]) -> list[Device]:
    """Read a devices file: one `[[device]]` table per device. Errors name the device and field."""
    try:
        raw = tomllib.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ValueError(f"devices file {path}: {exc}") from None
    entries = raw.get("device", [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise ValueError(f"devices file {path}: write each device as a [[device]] table")
    devices = []
    for index, entry in enumerate(entries, start=1):
        where = f"devices file {path}, device #{index} ({entry.get('id', 'no id')})"
        try:
            device = msgspec.convert(entry, Device)
        except msgspec.ValidationError as exc:
            raise ValueError(f"{where}: {exc}") from None
        problem = id_problem("device", device.id) or id_problem("village", device.village)
        unknown = sorted(set(device.sensors) - known_sensors)
        if problem:
            raise ValueError(f"{where}: {problem}")
        if unknown:
            raise ValueError(f"{where}: sensors not in the catalog: {', '.join(unknown)}")
        devices.append(device)
    return devices
