"""What the alert engine needs of one committed batch, split by evaluation partition.

Ingest partitions hash the routing key, so one device's telemetry, status and events may be
committed by different workers. Evaluation partitions hash the device alone
(`partition_of`), so all of a device's inputs meet in one partition and one evaluator.
After a commit, before its acks, the writer publishes one `EvalBatch` per partition the
batch touched: exactly the parts of `readings` and `BatchRecord` that `AlertEngine.on_batch`
reads.
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from village_brain.cluster.partitions import partition_of
from village_brain.core.devices import Device
from village_brain.core.records import Reading
from village_brain.store.registry import BatchRecord, Event


class EvalBatch(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    partition: int
    readings: list[Reading] = []
    new_devices: list[Device] = []
    seen: dict[str, int] = {}
    stored: dict[str, int] = {}
    statuses: dict[str, tuple[str, int]] = {}
    events: list[Event] = []

    def record(self) -> BatchRecord:
        """The batch as the engine's `on_batch` takes it (rejections are not its business)."""
        return BatchRecord(
            new_devices=list(self.new_devices),
            seen=dict(self.seen),
            stored=dict(self.stored),
            statuses=dict(self.statuses),
            events=list(self.events),
        )


_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(EvalBatch)


def encode(batch: EvalBatch) -> bytes:
    return _encoder.encode(batch)


def decode(body: bytes) -> EvalBatch:
    """Raises msgspec.ValidationError/DecodeError on a body that is not an EvalBatch."""
    return _decoder.decode(body)


class _Parts:
    def __init__(self) -> None:
        self.readings: list[Reading] = []
        self.new_devices: list[Device] = []
        self.seen: dict[str, int] = {}
        self.stored: dict[str, int] = {}
        self.statuses: dict[str, tuple[str, int]] = {}
        self.events: list[Event] = []


def split(readings: Sequence[Reading], record: BatchRecord, partitions: int) -> list[EvalBatch]:
    """One EvalBatch per partition the batch touched, by partition; order kept within each."""
    parts: dict[int, _Parts] = {}

    def of(device: str) -> _Parts:
        p = partition_of(device, partitions)
        part = parts.get(p)
        if part is None:
            part = parts[p] = _Parts()
        return part

    for reading in readings:
        of(reading.device).readings.append(reading)
    for device in record.new_devices:
        of(device.id).new_devices.append(device)
    for device_id, at_ms in record.seen.items():
        of(device_id).seen[device_id] = at_ms
    for device_id, at_ms in record.stored.items():
        of(device_id).stored[device_id] = at_ms
    for device_id, status in record.statuses.items():
        of(device_id).statuses[device_id] = status
    for event in record.events:
        of(event.device).events.append(event)
    return [
        EvalBatch(
            p, part.readings, part.new_devices, part.seen, part.stored, part.statuses, part.events
        )
        for p, part in sorted(parts.items())
    ]
