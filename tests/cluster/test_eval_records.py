"""An ingest batch split by evaluation partition, and the record that carries each part."""

from __future__ import annotations

import msgspec
import pytest

from village_brain.cluster.eval_records import EvalBatch, decode, encode, split
from village_brain.cluster.partitions import partition_of
from village_brain.core.devices import Device
from village_brain.core.records import Reading
from village_brain.store.registry import BatchRecord, Event

K = 4
T0 = 1_800_000_000_000


def two_devices_in_different_partitions() -> tuple[str, str]:
    names = [f"d{i}" for i in range(50)]
    first = names[0]
    second = next(n for n in names if partition_of(n, K) != partition_of(first, K))
    return first, second


def test_each_device_s_readings_status_and_events_go_to_its_partition_only():
    a, b = two_devices_in_different_partitions()
    readings = [
        Reading("v", a, "water_level", T0, 1.0),
        Reading("v", b, "water_level", T0, 2.0),
        Reading("v", a, "water_level", T0 + 1, 3.0),
    ]
    record = BatchRecord(
        new_devices=[Device(b, "v")],
        seen={a: T0, b: T0},
        stored={a: T0 + 5},
        statuses={b: ("offline", T0 + 2)},
        events=[Event("v", a, T0, "door_open")],
    )
    parts = {batch.partition: batch for batch in split(readings, record, K)}
    pa, pb = parts[partition_of(a, K)], parts[partition_of(b, K)]
    assert [r.value for r in pa.readings] == [1.0, 3.0]
    assert pa.seen == {a: T0} and pa.stored == {a: T0 + 5} and pa.statuses == {}
    assert [e.type for e in pa.events] == ["door_open"] and pa.new_devices == []
    assert [r.value for r in pb.readings] == [2.0]
    assert pb.statuses == {b: ("offline", T0 + 2)} and pb.new_devices == [Device(b, "v")]
    assert pb.events == [] and pb.stored == {}


def test_a_batch_touching_no_device_publishes_nothing():
    assert split([], BatchRecord(), K) == []


def test_an_eval_batch_round_trips_through_msgpack():
    batch = EvalBatch(
        2,
        readings=[Reading("v", "g1", "water_level", T0, 1.5)],
        new_devices=[Device("g1", "v", kind="gauge")],
        seen={"g1": T0},
        stored={"g1": T0 + 1},
        statuses={"g1": ("online", T0)},
        events=[Event("v", "g1", T0, "door_open", {"by": "x"})],
    )
    assert decode(encode(batch)) == batch
    assert batch.record().statuses == {"g1": ("online", T0)}


def test_a_body_that_is_no_eval_batch_is_refused_by_decoding():
    with pytest.raises(msgspec.ValidationError):
        decode(msgspec.msgpack.encode({"partition": "x"}))
