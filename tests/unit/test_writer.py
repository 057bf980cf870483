"""The batch writer: commit first, acknowledge after, never drop a batch."""

import json
import threading
import time

from village_brain.core.catalog import default_catalog
from village_brain.ingest.codecs import default_registry
from village_brain.ingest.pipeline import DeviceDirectory, InboundMessage, Limits, Pipeline
from village_brain.ingest.stats import IngestStats
from village_brain.ingest.validate import TimeWindow
from village_brain.ingest.writer import BatchWriter
from village_brain.store.registry import RegistryStore
from village_brain.store.sqlite_series import SqliteSeriesStore


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


def make_writer(tmp_path, failures: int = 0):
    catalog = default_catalog()
    pipeline = Pipeline(
        catalog,
        default_registry(catalog),
        DeviceDirectory({}, auto_register=True),
        Limits(65_536, 1000, TimeWindow(300_000, 7 * 86_400_000)),
    )
    series = FlakySeriesStore(tmp_path / "s.sqlite3", failures)
    registry = RegistryStore(tmp_path / "r.sqlite3")
    acks: list[tuple[int, int]] = []
    writer = BatchWriter(
        pipeline,
        series,
        registry,
        IngestStats(),
        ack=lambda mid, qos, generation: acks.append((mid, len(series.latest("g1")))),
        max_messages=100,
        max_wait_s=0.01,
    )
    return writer, series, acks


def reading_message(mid: int) -> InboundMessage:
    now = 1_764_403_200_000
    payload = json.dumps({"ts": now - mid, "values": {"water_level": mid / 100}}).encode()
    return InboundMessage("village/xiashan/g1/telemetry", payload, now, mid=mid, qos=1)


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
