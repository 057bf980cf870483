"""Committed batches from every worker onto every API process's bus, through PostgreSQL.

A worker's writer announces each committed batch on its own bus (service.Service._announce);
with several processes the dashboard's live feed runs in another. Here a worker sends each
batch as NOTIFY on one channel of the shared database, and each API process LISTENs and
republishes it on its bus, as its own writer would have.

NOTIFY payloads are limited to 8000 bytes: a batch goes out as compact records (arrays, not
objects), split into as many notifications as it needs. Notifications are sent when the
transaction that sends them commits, and a listener that is not connected then never sees
them: this is a live feed, not a log (what was stored is read from the stores).

Alert changes go the same way, one per notification: what a worker's engine fired or
resolved, and what staff did in any process, reaches every dashboard.
"""

from __future__ import annotations

import logging
import queue
import threading
import uuid
from collections.abc import Sequence
from typing import Any

import msgspec
import psycopg

from village_brain.core.bus import Bus
from village_brain.core.records import Reading
from village_brain.store.registry import BatchRecord

log = logging.getLogger(__name__)

CHANNEL = "vb_live"
# Below PostgreSQL's 8000-byte limit, with room for the envelope around the records.
PAYLOAD_BYTES = 7800
# Batches waiting to be sent; past this a slow database loses live frames, never ingest time.
QUEUE_BATCHES = 1000
RECONNECT_S = 1.0


class LiveReading(msgspec.Struct, array_like=True, frozen=True):
    village: str
    device: str
    sensor: str
    ts_ms: int
    value: float


class LiveStatus(msgspec.Struct, array_like=True, frozen=True):
    device: str
    status: str
    ts_ms: int


class LiveAlert(msgspec.Struct, array_like=True, frozen=True):
    """An alert change, as the engine announces it on its bus."""

    change: str
    alert: dict[str, Any]


class LiveNotice(msgspec.Struct, array_like=True, frozen=True):
    """One notification: part of a committed batch, or an alert change, from the process
    `origin`."""

    origin: str
    readings: list[LiveReading] = []
    statuses: list[LiveStatus] = []
    alerts: list[LiveAlert] = []


# Set while this thread puts another process's notice on the bus: what is relayed here is
# not sent on again (two processes would echo it between them for ever).
_relaying = threading.local()


_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(LiveNotice)


def new_origin() -> str:
    """This process's name on the channel, so it can skip what it sent itself."""
    return uuid.uuid4().hex[:12]


def notices(origin: str, readings: Sequence[Reading], record: BatchRecord) -> list[bytes]:
    """The batch as payloads of at most PAYLOAD_BYTES each."""
    items: list[LiveReading | LiveStatus] = [
        LiveReading(r.village, r.device, r.sensor, r.ts_ms, r.value) for r in readings
    ]
    items += [LiveStatus(d, status, ms) for d, (status, ms) in record.statuses.items()]
    payloads: list[bytes] = []
    envelope = len(_encoder.encode(LiveNotice(origin)))
    pending: list[LiveReading | LiveStatus] = []
    size = envelope
    for item in items:
        # Each record's own length plus its comma: the notice's length without encoding it.
        cost = len(_encoder.encode(item)) + 1
        if pending and size + cost > PAYLOAD_BYTES:
            payloads.append(_notice(origin, pending))
            pending, size = [], envelope
        pending.append(item)
        size += cost
    if pending:
        payloads.append(_notice(origin, pending))
    return payloads


def _notice(origin: str, items: list[LiveReading | LiveStatus]) -> bytes:
    readings = [i for i in items if isinstance(i, LiveReading)]
    statuses = [i for i in items if isinstance(i, LiveStatus)]
    return _encoder.encode(LiveNotice(origin, readings, statuses))


def publish_notice(bus: Bus, notice: LiveNotice) -> None:
    """On the bus in the shape the writer announces a batch (see Service._announce)."""
    _relaying.active = True
    try:
        if notice.readings:
            readings = [msgspec.to_builtins(r) for r in _readings(notice)]
            bus.publish("readings", {"readings": readings})
        for s in notice.statuses:
            bus.publish("status", {"device": s.device, "status": s.status, "ts_ms": s.ts_ms})
        for a in notice.alerts:
            bus.publish("alert", {"change": a.change, "alert": a.alert})
    finally:
        _relaying.active = False


def _readings(notice: LiveNotice) -> list[Reading]:
    return [Reading(r.village, r.device, r.sensor, r.ts_ms, r.value) for r in notice.readings]


class LiveFeedSender:
    """A writer listener: each committed batch goes out from a thread of its own, so a slow
    or unreachable database never holds up ingest."""

    def __init__(self, dsn: str, origin: str) -> None:
        self.dsn, self.origin = dsn, origin
        self._queue: queue.Queue[list[bytes] | None] = queue.Queue(QUEUE_BATCHES)
        self._thread = threading.Thread(target=self._run, name="live-feed-send", daemon=True)
        self.dropped = 0

    def start(self) -> None:
        self._thread.start()

    def on_batch(self, readings: Sequence[Reading], record: BatchRecord) -> None:
        if not readings and not record.statuses:
            return
        try:
            self._queue.put_nowait(notices(self.origin, readings, record))
        except queue.Full:
            self.dropped += 1

    def on_bus(self, kind: str, payload: dict[str, Any]) -> None:
        """A bus listener: this process's alert changes go out too."""
        if kind != "alert" or getattr(_relaying, "active", False):
            return
        notice = _encoder.encode(
            LiveNotice(self.origin, alerts=[LiveAlert(payload["change"], payload["alert"])])
        )
        if len(notice) > PAYLOAD_BYTES:
            self.dropped += 1  # a live frame only: the alert is in the store
            return
        try:
            self._queue.put_nowait([notice])
        except queue.Full:
            self.dropped += 1

    def stop(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=10)

    def _run(self) -> None:
        conn: psycopg.Connection | None = None
        while (payloads := self._queue.get()) is not None:
            try:
                conn = conn if conn is not None and not conn.closed else self._connect()
                with conn.transaction():
                    for payload in payloads:
                        conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, payload.decode()))
            except psycopg.Error as exc:
                # The batch is already stored; only its live frames are lost.
                log.warning("live feed: could not send a batch (%s); sending the next", exc)
                if conn is not None:
                    conn.close()
                conn = None
        if conn is not None:
            conn.close()

    def _connect(self) -> psycopg.Connection:
        return psycopg.connect(self.dsn, autocommit=True)


class LiveFeedListener:
    """LISTENs on the shared database and republishes other processes' batches on `bus`."""

    def __init__(self, dsn: str, bus: Bus, origin: str) -> None:
        self.dsn, self.bus, self.origin = dsn, bus, origin
        self._stop = threading.Event()
        self.listening = threading.Event()
        self._thread = threading.Thread(target=self._run, name="live-feed-listen", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._listen()
            except psycopg.Error as exc:
                self.listening.clear()
                log.warning("live feed: lost the database (%s); listening again", exc)
                self._stop.wait(RECONNECT_S)

    def _listen(self) -> None:
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            conn.execute(f"LISTEN {CHANNEL}")
            self.listening.set()
            while not self._stop.is_set():
                # A short timeout, so a stop is seen within it.
                for note in conn.notifies(timeout=0.5):
                    self._deliver(note.payload)

    def _deliver(self, payload: str) -> None:
        try:
            notice = _decoder.decode(payload)
        except msgspec.DecodeError:
            log.warning("live feed: a notification not in our format was ignored")
            return
        if notice.origin != self.origin:
            publish_notice(self.bus, notice)
