"""The registry: devices with presence, the dead-letter log and events, the same in SQLite
and in the shared PostgreSQL database."""

import sqlite3

import pytest

from village_brain.core.devices import Device, Presence
from village_brain.core.records import Rejection
from village_brain.store.registry import BatchRecord, Event, RegistryStore, StoredEvent


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.integration)])
def registry(request, tmp_path):
    dsn = request.getfixturevalue("postgres_dsn") if request.param == "postgres" else None
    r = RegistryStore(tmp_path / "registry.sqlite3", postgres_dsn=dsn)
    yield r
    r.close()


def rejection(at_ms: int, reason: str = "bad_json", device: str = "g1") -> Rejection:
    return Rejection(at_ms, reason, "detail", f"village/x/{device}/telemetry", "x", device)


GAUGE = Device(
    id="g1",
    village="xiashan",
    kind="river_gauge",
    place="北桥河岸",
    lat=30.1,
    lon=120.1,
    sensors=("water_level",),
)


def test_registered_devices_come_back_with_location_and_sensors(registry):
    registry.upsert_devices([GAUGE])
    assert registry.device("g1").device == GAUGE


def test_a_batch_records_last_seen_and_status(registry):
    registry.upsert_devices([GAUGE])
    registry.commit(BatchRecord(seen={"g1": 5000}, statuses={"g1": ("online", 4000)}))
    assert registry.device("g1").presence == Presence(5000, "online", 4000)


def test_last_seen_never_moves_backwards(registry):
    registry.upsert_devices([GAUGE])
    registry.commit(BatchRecord(seen={"g1": 5000}))
    registry.commit(BatchRecord(seen={"g1": 3000}))
    assert registry.device("g1").presence.last_seen_ms == 5000


def test_re_registering_a_device_keeps_its_presence(registry):
    registry.upsert_devices([GAUGE])
    registry.commit(BatchRecord(seen={"g1": 5000}))
    registry.upsert_devices([GAUGE])
    assert registry.device("g1").presence.last_seen_ms == 5000


def test_rejections_are_listed_newest_first_and_filter_by_reason(registry):
    registry.commit(
        BatchRecord(rejections=[rejection(1, "bad_json"), rejection(2, "out_of_range")])
    )
    assert [r.at_ms for r in registry.rejections()] == [2, 1]
    assert [r.reason for r in registry.rejections(reason="bad_json")] == ["bad_json"]


def test_the_dead_letter_log_is_bounded_by_count(registry):
    registry.commit(BatchRecord(rejections=[rejection(i) for i in range(10)]))
    registry.prune_rejections(keep_rows=3, older_than_ms=0)
    assert [r.at_ms for r in registry.rejections()] == [9, 8, 7]


def test_the_dead_letter_log_is_bounded_by_age(registry):
    registry.commit(BatchRecord(rejections=[rejection(i) for i in range(10)]))
    registry.prune_rejections(keep_rows=100, older_than_ms=8)
    assert [r.at_ms for r in registry.rejections()] == [9, 8]


def test_a_redelivered_event_is_stored_once(registry):
    event = Event("xiashan", "g1", 1000, "button_pressed", {"button": 1})
    registry.commit(BatchRecord(events=[event]))
    registry.commit(BatchRecord(events=[event]))
    assert registry.events("g1") == [
        StoredEvent("xiashan", "g1", 1000, "button_pressed", '{"button": 1}')
    ]


def test_a_batch_records_each_devices_latest_refusal_and_its_reason(registry):
    registry.upsert_devices([GAUGE])
    registry.commit(
        BatchRecord(
            rejections=[
                Rejection(3000, "out_of_range", "", "t", "xiashan", "g1"),
                Rejection(5000, "wrong_type", "", "t", "xiashan", "g1"),
                Rejection(4000, "bad_json", "", "t", "xiashan", "g1"),
            ]
        )
    )
    presence = registry.device("g1").presence
    assert (presence.last_refused_ms, presence.last_refused_reason) == (5000, "wrong_type")


def test_the_latest_refusal_never_moves_backwards(registry):
    registry.upsert_devices([GAUGE])
    registry.commit(BatchRecord(rejections=[Rejection(5000, "bad_json", "", "t", "xiashan", "g1")]))
    registry.commit(
        BatchRecord(rejections=[Rejection(3000, "unknown_unit", "", "t", "xiashan", "g1")])
    )
    assert registry.device("g1").presence.last_refused_reason == "bad_json"


def test_a_refusal_naming_another_village_says_nothing_of_the_device(registry):
    registry.upsert_devices([GAUGE])
    registry.commit(BatchRecord(rejections=[rejection(5000, "wrong_village")]))  # village x
    assert registry.device("g1").presence.last_refused_ms is None


def test_a_batch_records_the_latest_message_of_which_something_was_stored(registry):
    registry.upsert_devices([GAUGE])
    registry.commit(BatchRecord(stored={"g1": 5000}))
    registry.commit(BatchRecord(stored={"g1": 3000}))
    assert registry.device("g1").presence.last_stored_ms == 5000


OLD_REGISTRY = """
CREATE TABLE devices (id TEXT PRIMARY KEY, village TEXT NOT NULL,
    kind TEXT NOT NULL DEFAULT 'unknown', name TEXT NOT NULL DEFAULT '',
    place TEXT NOT NULL DEFAULT '', lat REAL, lon REAL, sensors TEXT NOT NULL DEFAULT '[]',
    source TEXT NOT NULL DEFAULT 'file', last_seen_ms INTEGER, status TEXT, status_ms INTEGER);
CREATE TABLE rejections (id INTEGER PRIMARY KEY AUTOINCREMENT, at_ms INTEGER NOT NULL,
    reason TEXT NOT NULL, detail TEXT NOT NULL, topic TEXT NOT NULL, village TEXT,
    device TEXT, sensor TEXT, excerpt TEXT NOT NULL);
INSERT INTO devices (id, village, last_seen_ms) VALUES ('g1', 'xiashan', 5000);
"""


def test_a_registry_made_before_device_health_opens_and_keeps_its_devices(tmp_path):
    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.executescript(OLD_REGISTRY)
    registry = RegistryStore(path)
    try:
        registry.commit(
            BatchRecord(rejections=[Rejection(6000, "bad_json", "", "t", "xiashan", "g1")])
        )
        assert registry.device("g1").presence == Presence(
            5000, last_refused_ms=6000, last_refused_reason="bad_json"
        )
    finally:
        registry.close()


def test_retained_keys_come_back_once_each_newest_first(registry):
    keyed = [
        Rejection(i, "bad_json", "", "t", "x", "g1", retained_key=key)
        for i, key in enumerate(["a", "b", "a", "c"])
    ]
    registry.commit(BatchRecord(rejections=[*keyed, rejection(9)]))
    assert registry.retained_keys(limit=10) == ["c", "a", "b"]
    assert registry.retained_keys(limit=2) == ["c", "a"]


def test_every_field_of_a_device_comes_back_in_its_place(registry):
    # Distinct text in every field: a field read into its neighbour's place shows here.
    device = Device(
        id="s1",
        village="v",
        kind="k",
        name="n",
        place="p",
        lat=1.5,
        lon=2.5,
        sensors=("rssi", "water_level"),
        source="api",
        foreign_id="f",
    )
    registry.upsert_devices([device, GAUGE])
    assert [row.device for row in registry.devices()] == [GAUGE, device]


def test_devices_sharing_a_set_of_sensors_each_get_their_own_sensors(registry):
    registry.upsert_devices(
        [Device(id=f"d{i}", village="x", sensors=("rssi",)) for i in range(3)]
        + [Device(id="e", village="x")]
    )
    assert [row.device.sensors for row in registry.devices()] == [("rssi",)] * 3 + [()]


def test_device_ids_are_those_of_the_device_list_in_its_order(registry):
    registry.upsert_devices(
        [Device(id=d, village=v) for d, v in (("c", "x"), ("a", "y"), ("b", "x"))]
    )
    assert registry.device_ids() == [row.device.id for row in registry.devices()]
    assert registry.device_ids("x") == ["b", "c"]
    assert registry.device_ids("nowhere") == []


def unknown(at_ms: int, device: str) -> Rejection:
    return Rejection(at_ms, "unknown_device", "", f"village/x/{device}/telemetry", "x", device)


def test_a_device_refused_as_unknown_waits_until_registered_or_refused(registry):
    registry.commit(BatchRecord(rejections=[unknown(1, "n1"), unknown(3, "n1"), unknown(2, "n2")]))
    pending = registry.pending_devices()
    assert [(p.device, p.first_ms, p.last_ms, p.messages) for p in pending] == [
        ("n1", 1, 3, 2),
        ("n2", 2, 2, 1),
    ]
    registry.upsert_devices([Device(id="n1", village="x")])
    registry.refuse_pending("n2", "x", at_ms=4)
    assert registry.pending_devices() == []


def test_a_removed_device_leaves_the_registry(registry):
    registry.upsert_devices([GAUGE])
    assert registry.remove_device("g1") is True
    assert registry.device("g1") is None
    assert registry.remove_device("g1") is False
