"""Telemetry and event payloads in the wire formats of PROTOCOL.md."""

from __future__ import annotations

import json
from collections.abc import Sequence

from village_brain.core.catalog import Catalog
from village_brain.simulator.device import Event, Sample
from village_brain.simulator.quantize import Reported

NATIVE_CONTENT_TYPE = "application/json"
SENML_CONTENT_TYPE = "application/senml+json"
# A buffered backlog beyond this is trimmed to its newest samples, which keeps every message
# well under the server's default limits (1,000 readings, 64 KiB).
MAX_BACKLOG = 100

# Lamps say on/off in words, as the protocol's examples do; alarms stay JSON booleans.
_WORDED = {"lamp_state": ("on", "off")}


def topic(village: str, device: str, channel: str) -> str:
    return f"village/{village}/{device}/{channel}"


def _dumps(message: object) -> bytes:
    return json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode()


def _native_values(values: dict[str, Reported]) -> dict[str, object]:
    shown: dict[str, object] = {}
    for sensor, value in values.items():
        words = _WORDED.get(sensor)
        shown[sensor] = words[0 if value else 1] if words and isinstance(value, bool) else value
    return shown


def native_telemetry(current: Sample, backlog: Sequence[Sample] = ()) -> bytes:
    """The native object: this moment's `values`, and what was buffered offline as `batch`."""
    message: dict[str, object] = {"ts": current.ts_ms, "values": _native_values(current.values)}
    if backlog:
        message["batch"] = [
            {"ts": sample.ts_ms, "values": _native_values(sample.values)}
            for sample in backlog[-MAX_BACKLOG:]
        ]
    return _dumps(message)


def senml_telemetry(
    device_id: str, catalog: Catalog, current: Sample, backlog: Sequence[Sample] = ()
) -> bytes:
    """A SenML pack: base name the device, base time the oldest sample, sensor ids as names."""
    samples = [*backlog[-MAX_BACKLOG:], current]
    base_s = samples[0].ts_ms / 1000
    records: list[dict[str, object]] = []
    for sample in samples:
        offset = round(sample.ts_ms / 1000 - base_s, 3)
        for sensor, value in sample.values.items():
            record: dict[str, object] = {"n": sensor}
            if isinstance(value, bool):
                record["vb"] = value
            else:
                record["u"] = catalog.types[sensor].unit
                record["v"] = value
            if offset:
                record["t"] = offset
            records.append(record)
    # The colon ends the base name, so the resolved name "buoy-x:water_ph" ends in the sensor id.
    records[0] = {"bn": f"{device_id}:", "bt": base_s, **records[0]}
    return _dumps(records)


def event_payload(event: Event) -> bytes:
    message: dict[str, object] = {"type": event.type, "ts": event.ts_ms}
    if event.data:
        message["data"] = event.data
    return _dumps(message)
