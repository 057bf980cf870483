"""A committed batch as NOTIFY payloads: compact records, each payload under PostgreSQL's
8000-byte limit, and back on a bus as the writer announces a batch."""

from village_brain.cluster.live_feed import PAYLOAD_BYTES, _decoder, notices, publish_notice
from village_brain.core.bus import Bus
from village_brain.core.records import Reading
from village_brain.store.registry import BatchRecord

READINGS = [
    Reading("xiashan", f"gauge-{i:04}", "water_level", 1_800_000_000_000 + i, i / 3)
    for i in range(2000)
]


def test_a_large_batch_is_split_into_payloads_under_the_notify_limit():
    payloads = notices("w1", READINGS, BatchRecord(statuses={"g1": ("online", 5)}))
    assert len(payloads) > 1
    assert max(len(p) for p in payloads) <= PAYLOAD_BYTES < 8000


def test_every_reading_and_status_arrives_on_the_bus_once_in_the_writer_s_shape():
    seen: list[tuple[str, dict]] = []
    bus = Bus()
    bus.subscribe(lambda kind, payload: seen.append((kind, payload)))
    for payload in notices("w1", READINGS, BatchRecord(statuses={"g1": ("online", 5)})):
        publish_notice(bus, _decoder.decode(payload))
    readings = [r for kind, p in seen if kind == "readings" for r in p["readings"]]
    assert readings == [
        {
            "village": r.village,
            "device": r.device,
            "sensor": r.sensor,
            "ts_ms": r.ts_ms,
            "value": r.value,
        }
        for r in READINGS
    ]
    assert [p for kind, p in seen if kind == "status"] == [
        {"device": "g1", "status": "online", "ts_ms": 5}
    ]
