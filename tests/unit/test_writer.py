"""The batch writer: commit first, acknowledge after, never drop a batch."""

import json
import threading
import time
from collections.abc import Sequence

from village_brain.core.catalog import default_catalog
from village_brain.ingest.codecs import default_registry
from village_brain.ingest.pipeline import DeviceDirectory, InboundMessage, Limits, Pipeline
from village_brain.ingest.stats import IngestStats
from village_brain.ingest.validate import TimeWindow
from village_brain.ingest.writer import BatchWriter
from village_brain.store.registry import RegistryStore
from village_brain.store.sqlite_series import SqliteSeriesStore

from support.waiting import wait_until


class FlakySeriesStore(SqliteSeriesStore):
    """A real store that fails its first writes, as a disk or server outage would."""

    def __init__(self, path, failures: int) -> None:
        super().__init__(path)
        self.failures = failures

    def write(self, readings):
        if self.failures:
            self.failures -= 1
            raise OSError("disk unavailable")
        return super().write(readings)


class PickyRegistry(RegistryStore):
    """A real registry that cannot write one kind of event, as a store refuses data it cannot
    represent; and, while `failures` lasts, fails as a store does when it is down."""

    def __init__(self, path, failures: int = 0, error: type[Exception] = OSError) -> None:
        super().__init__(path)
        self.failures = failures
        self.error = error

    def commit(self, batch):
        if self.failures:
            self.failures -= 1
            raise self.error("registry unavailable")
        if any(e.type == "unwritable" for e in batch.events):
            raise ValueError("cannot represent this event")
        super().commit(batch)


def make_writer(tmp_path, failures: int = 0, registry: RegistryStore | None = None):
    catalog = default_catalog()
    pipeline = Pipeline(
        catalog,
        default_registry(catalog),
        DeviceDirectory({}, auto_register=True),
        Limits(65_536, 1000, TimeWindow(300_000, 7 * 86_400_000)),
    )
    series = FlakySeriesStore(tmp_path / "s.sqlite3", failures)
    registry = registry or RegistryStore(tmp_path / "r.sqlite3")
    acks: list[tuple[int, int]] = []
    writer = BatchWriter(
        pipeline,
        series,
        registry,
        IngestStats(),
        ack=lambda messages: acks.extend((m.mid, len(series.latest("g1"))) for m in messages),
        max_messages=100,
        max_wait_s=0.01,
    )
    return writer, series, acks


NOW = 1_764_403_200_000


def reading_message(mid: int) -> InboundMessage:
    payload = json.dumps({"ts": NOW - mid, "values": {"water_level": mid / 100}}).encode()
    return InboundMessage("village/xiashan/g1/telemetry", payload, NOW, mid=mid, qos=1)


def event_message(mid: int, event_type: str) -> InboundMessage:
    payload = json.dumps({"type": event_type}).encode()
    return InboundMessage("village/xiashan/g1/event", payload, NOW, mid=mid, qos=1)


def stored_values(series: SqliteSeriesStore) -> list[float]:
    rows = series.db.reader().execute("SELECT value FROM points ORDER BY ts DESC")
    return [value for (value,) in rows]


def run_until_idle(writer: BatchWriter) -> None:
    stop = threading.Event()
    thread = threading.Thread(target=writer.run, args=(stop,))
    thread.start()
    stop.set()
    thread.join(timeout=30)


def test_messages_are_acknowledged_in_order_after_their_readings_are_stored(tmp_path):
    writer, _series, acks = make_writer(tmp_path)
    for mid in (1, 2, 3):
        writer.inbox.put(reading_message(mid))
    run_until_idle(writer)
    assert [mid for mid, _ in acks] == [1, 2, 3]
    assert all(stored == 1 for _, stored in acks), "acknowledged before the store had the reading"


def test_a_failing_store_is_retried_and_nothing_is_acknowledged_until_it_works(tmp_path):
    writer, series, acks = make_writer(tmp_path, failures=2)
    writer.inbox.put(reading_message(1))
    stop = threading.Event()
    thread = threading.Thread(target=writer.run, args=(stop,))
    thread.start()
    deadline = time.monotonic() + 10
    while not acks and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    thread.join(timeout=30)
    assert series.failures == 0
    assert acks == [(1, 1)]


def test_stopping_during_an_outage_acknowledges_nothing(tmp_path):
    writer, _series, acks = make_writer(tmp_path, failures=1000)
    writer.inbox.put(reading_message(1))
    run_until_idle(writer)
    assert acks == []


def test_listeners_see_each_committed_batch(tmp_path):
    writer, _series, _acks = make_writer(tmp_path)
    seen = []
    writer.listeners.append(lambda readings, record: seen.extend(r.value for r in readings))
    writer.inbox.put(reading_message(7))
    run_until_idle(writer)
    assert seen == [0.07]


def test_messages_the_store_cannot_write_are_refused_alone_and_the_rest_are_stored(tmp_path):
    registry = PickyRegistry(tmp_path / "r.sqlite3")
    writer, series, acks = make_writer(tmp_path, registry=registry)
    unwritable = {3, 8}
    for mid in range(1, 11):
        writer.inbox.put(
            event_message(mid, "unwritable") if mid in unwritable else reading_message(mid)
        )
    run_until_idle(writer)
    assert [mid for mid, _ in acks] == list(range(1, 11))
    assert stored_values(series) == [mid / 100 for mid in range(1, 11) if mid not in unwritable]
    rejections = registry.rejections()
    assert [r.reason for r in rejections] == ["internal_error"] * 2
    assert all("ValueError" in r.detail and r.topic.endswith("/event") for r in rejections)
    assert writer.stats.rejected == {"internal_error": 2}
    assert writer.stats.messages == 10


def test_an_unexpected_store_error_is_retried_like_an_outage_and_loses_nothing(tmp_path):
    # Fails the batch, the first message alone, and the rejection meant to replace it: a
    # store that cannot take even a rejection is down, whatever it raises.
    registry = PickyRegistry(tmp_path / "r.sqlite3", failures=3, error=RuntimeError)
    writer, series, acks = make_writer(tmp_path, registry=registry)
    writer.inbox.put(reading_message(1))
    writer.inbox.put(reading_message(2))
    stop = threading.Event()
    thread = threading.Thread(target=writer.run, args=(stop,))
    thread.start()
    try:
        wait_until(lambda: len(acks) == 2, what="both messages acknowledged")
    finally:
        stop.set()
        thread.join(timeout=30)
    assert registry.failures == 0
    assert sorted(stored_values(series)) == [0.01, 0.02]
    assert registry.rejections() == []


def test_an_exception_escaping_the_loop_restarts_the_writer_without_losing_a_message(tmp_path):
    writer, series, acks = make_writer(tmp_path)
    record_ack = writer.ack
    failed = []

    def ack_failing_once(messages: Sequence[InboundMessage]) -> None:
        if not failed:
            failed.append(messages[0].mid)
            raise RuntimeError("the connection's ack went wrong")
        record_ack(messages)

    writer.ack = ack_failing_once
    writer.inbox.put(reading_message(1))
    writer.inbox.put(reading_message(2))
    stop = threading.Event()
    thread = threading.Thread(target=writer.run, args=(stop,))
    thread.start()
    try:
        wait_until(lambda: len(acks) == 2, what="the held messages after the restart")
        writer.inbox.put(reading_message(3))
        wait_until(lambda: len(acks) == 3, what="a message after the restart")
    finally:
        stop.set()
        thread.join(timeout=30)
    assert failed == [1] and [mid for mid, _ in acks] == [1, 2, 3]
    assert writer.stats.writer_restarts == 1
    assert writer.waiting() == 0
    assert sorted(stored_values(series)) == [0.01, 0.02, 0.03]


JUNK = b'{"values": {"water_level": "high"}}'  # refused as wrong_type


def junk_message(mid: int, received_ms: int = NOW, retain: bool = True) -> InboundMessage:
    return InboundMessage(
        "village/xiashan/g1/telemetry", JUNK, received_ms, mid=mid, qos=1, retain=retain
    )


def test_a_device_whose_message_is_refused_has_the_refusal_and_no_stored_message(tmp_path):
    writer, _series, _acks = make_writer(tmp_path)
    writer.inbox.put(junk_message(1, retain=False))
    run_until_idle(writer)
    presence = writer.registry.device("g1").presence
    assert (presence.last_seen_ms, presence.last_stored_ms) == (NOW, None)
    assert (presence.last_refused_ms, presence.last_refused_reason) == (NOW, "wrong_type")


def test_a_device_whose_readings_are_stored_has_the_time_of_their_message(tmp_path):
    writer, _series, _acks = make_writer(tmp_path)
    writer.inbox.put(reading_message(1))
    writer.inbox.put(event_message(2, "door_opened"))
    run_until_idle(writer)
    presence = writer.registry.device("g1").presence
    assert (presence.last_stored_ms, presence.last_refused_ms) == (NOW, None)


def test_a_refused_retained_message_sent_again_is_a_repeat_and_not_logged_again(tmp_path):
    writer, _series, acks = make_writer(tmp_path)
    writer.inbox.put(junk_message(1))
    run_until_idle(writer)
    writer.inbox.put(junk_message(2, NOW + 60_000))  # the broker's replay at a resubscription
    run_until_idle(writer)
    assert [(r.reason, r.at_ms) for r in writer.registry.rejections()] == [("wrong_type", NOW)]
    assert writer.stats.snapshot(0, True).rejected_repeats == 1
    assert writer.stats.rejected == {"wrong_type": 1}
    assert [mid for mid, _ in acks] == [1, 2]


def test_the_replay_of_a_refused_retained_message_is_no_sign_of_life(tmp_path):
    writer, _series, _acks = make_writer(tmp_path)
    writer.inbox.put(junk_message(1))
    run_until_idle(writer)
    writer.inbox.put(junk_message(2, NOW + 60_000))
    run_until_idle(writer)
    presence = writer.registry.device("g1").presence
    assert (presence.last_seen_ms, presence.last_refused_ms) == (NOW, NOW)


def test_a_refused_retained_message_twice_in_one_batch_is_logged_once(tmp_path):
    writer, _series, acks = make_writer(tmp_path)
    writer.inbox.put(junk_message(1))
    writer.inbox.put(junk_message(2))
    run_until_idle(writer)
    assert len(writer.registry.rejections()) == 1
    assert writer.stats.snapshot(0, True).rejected_repeats == 1
    assert [mid for mid, _ in acks] == [1, 2]


def test_the_same_junk_sent_again_by_the_device_itself_is_logged_again(tmp_path):
    writer, _series, _acks = make_writer(tmp_path)
    writer.inbox.put(junk_message(1, retain=False))
    run_until_idle(writer)
    writer.inbox.put(junk_message(2, NOW + 60_000, retain=False))
    run_until_idle(writer)
    assert [r.at_ms for r in writer.registry.rejections()] == [NOW + 60_000, NOW]
    assert writer.stats.snapshot(0, True).rejected_repeats == 0


def test_a_retained_refusal_held_through_an_outage_is_logged_once_it_is_stored(tmp_path):
    registry = PickyRegistry(tmp_path / "r.sqlite3", failures=2)
    writer, _series, acks = make_writer(tmp_path, registry=registry)
    writer.inbox.put(junk_message(1))
    stop = threading.Event()
    thread = threading.Thread(target=writer.run, args=(stop,))
    thread.start()
    try:
        wait_until(lambda: acks, what="the junk committed after the outage")
    finally:
        stop.set()
        thread.join(timeout=30)
    assert [r.reason for r in registry.rejections()] == ["wrong_type"]
    writer.inbox.put(junk_message(2, NOW + 60_000))
    run_until_idle(writer)
    assert len(registry.rejections()) == 1


def test_work_before_the_acks_runs_after_the_commit_and_a_failure_holds_the_acks(tmp_path):
    writer, series, acks = make_writer(tmp_path)
    published: list[list[float]] = []

    def publish_failing_once(readings, _record) -> None:
        assert len(series.latest("g1")) == 1, "ran before the commit"
        if not published:
            published.append([])
            raise ConnectionError("the broker refused the publish")
        assert acks == [], "the batch was acknowledged before its work was done"
        published.append([r.value for r in readings])

    writer.before_ack.append(publish_failing_once)
    writer.inbox.put(reading_message(1))
    stop = threading.Event()
    thread = threading.Thread(target=writer.run, args=(stop,))
    thread.start()
    try:
        wait_until(lambda: len(acks) == 1, what="the message after the work succeeded")
    finally:
        stop.set()
        thread.join(timeout=30)
    assert published == [[], [0.01]]
    assert stored_values(series) == [0.01]  # committed again, stored once
