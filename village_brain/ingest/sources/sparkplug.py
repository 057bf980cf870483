"""Sparkplug B (Eclipse Sparkplug 3.0): edge nodes' BIRTH, DATA and DEATH messages.

Topics are `spBv1.0/<group>/<type>/<edge node>[/<device>]`; payloads are protobuf, decoded
with the official runtime from the schema in `sparkplug_b.py` (why not generated code or a
Sparkplug package is said there).

Devices: an edge node's own metrics belong to our device `<edge node>`, a device's to
`<edge node>-<device>`, both through our_id (`Raspberry Pi` → `raspberry-pi-4cac88`), with
the Sparkplug ids `<group>/<edge node>[/<device>]` kept as the foreign id. The group is not
part of our id: edge nodes of two groups with the same id need a source each with an
`id_prefix` (and an edge node called `gw-tank` would share the id of edge node `gw`'s device
`tank`).

This adapter is a listening Sparkplug host application, so it keeps a session per edge node,
as the specification requires of one:
- NBIRTH starts a session: its bdSeq, its seq, and each metric's name and datatype, by alias
  too. DBIRTH adds a device's metrics. DATA messages carry only aliases (or names) and no
  datatypes, so only a session can read them; both BIRTHs' values are readings as well.
- Every message but NDEATH carries seq, one past the previous message of the same edge node
  (mod 256). A gap means a message was lost, perhaps an NBIRTH that redefined the aliases, so
  a message after a gap is refused and the session set aside until the next NBIRTH.
- DATA before any NBIRTH, after a gap, or naming a metric no BIRTH defined is refused with a
  reason, and a rebirth is requested: an NCMD `Node Control/Rebirth = true` to
  `spBv1.0/<group>/NCMD/<edge node>`, at most once per `rebirth_interval` for each edge node.
- NDEATH (the edge node's MQTT will) takes the node and all its devices offline, unless its
  bdSeq is not the current session's, which makes it a stale will of an older connection;
  DDEATH takes one device offline. BIRTHs bring them online.
State is bounded: at most `max_edge_nodes` sessions (the least recently heard node is
forgotten first) and `max_metrics_per_node` metrics each.

Metric names map to sensor types through `fields/sparkplug.toml` and the source's `fields`:
by the whole name, then by its last part after `/`, ignoring case. Sparkplug's own metrics
(`bdSeq`, `Node Control/…`, `Device Control/…`, `Properties/…`, template definitions) are
passed over unless mapped; other unmapped metrics are listed as skipped. Each metric's own
timestamp (epoch ms) is its reading time, else the payload's.
"""

from __future__ import annotations

import math
import struct
from collections import OrderedDict
from typing import Annotated, NamedTuple

import msgspec
from google.protobuf.message import Message

from village_brain.core.catalog import Catalog
from village_brain.core.ids import id_problem
from village_brain.core.records import Problem, Value
from village_brain.core.timefmt import parse_duration_ms
from village_brain.ingest.sources.base import DeviceReport, Reply, Translation, refused
from village_brain.ingest.sources.fields import FieldTable, Override, load_table
from village_brain.ingest.sources.ids import our_id
from village_brain.ingest.sources.sparkplug_b import DATA_TYPES, DecodeError, Payload, data_type

NAME = "sparkplug"
NAMESPACE = "spBv1.0"
_KINDS = frozenset(("NBIRTH", "NDATA", "NDEATH", "DBIRTH", "DDATA", "DDEATH"))
_COMMANDS = frozenset(("NCMD", "DCMD"))
_PROTOCOL_PREFIXES = ("Node Control/", "Device Control/", "Properties/", "_types_/")
_REBIRTH_METRIC = "Node Control/Rebirth"
_SEQ_MODULUS = 256
_SHOWN = 64

# How each readable datatype travels: the value fields it may use, and for signed integers
# the width whose two's complement the unsigned field holds (Sparkplug 3.0 §6.4.16).
_INTEGER_FIELDS = ("int_value", "long_value")
_FLOAT_FIELDS = ("float_value", "double_value")
_SIGNED_BITS = {data_type(n): bits for n, bits in (("Int8", 8), ("Int16", 16), ("Int32", 32))}
_SIGNED_BITS[data_type("Int64")] = 64
_VALUE_FIELDS = {
    **{t: _INTEGER_FIELDS for t in _SIGNED_BITS},
    **{data_type(n): _INTEGER_FIELDS for n in ("UInt8", "UInt16", "UInt32", "UInt64")},
    data_type("Float"): _FLOAT_FIELDS,
    data_type("Double"): _FLOAT_FIELDS,
    data_type("Boolean"): ("boolean_value",),
    data_type("String"): ("string_value",),
    data_type("Text"): ("string_value",),
}
_FLOAT = data_type("Float")
_BOOLEAN = data_type("Boolean")
_UNKNOWN_TYPE = data_type("Unknown")

Positive = Annotated[int, msgspec.Meta(ge=1)]


class Options(msgspec.Struct, forbid_unknown_fields=True):
    village: str
    groups: list[str] = []  # Sparkplug group ids to listen to; none means all
    id_prefix: str = ""
    fields: dict[str, Override] = {}
    rebirth_interval: str = "10s"  # the least time between two rebirth requests to one node
    max_edge_nodes: Positive = 1000
    max_metrics_per_node: Positive = 5000


def make(options: Options, catalog: Catalog) -> Sparkplug:
    problem = id_problem("village", options.village)
    if problem:
        raise ValueError(problem)
    for group in options.groups:
        if not group or any(c in group for c in "/+#"):
            raise ValueError(f"group {group!r} is not a Sparkplug group id (no /, + or #)")
    overrides = {name.lower(): rule for name, rule in options.fields.items()}
    return Sparkplug(options, load_table(NAME, overrides, catalog))


class _Metric(NamedTuple):
    device: str  # "" for the edge node's own metrics
    name: str
    datatype: int


class _Session:
    """What an edge node's last NBIRTH and DBIRTHs said, and where its sequence is."""

    __slots__ = (
        "aliases",
        "bd_seq",
        "born",
        "broken",
        "devices",
        "full",
        "metrics",
        "rebirth_ms",
        "seq",
    )

    def __init__(self) -> None:
        self.born = False  # an NBIRTH was seen, and no gap since
        self.broken = False  # a gap in seq was seen since the last NBIRTH
        self.bd_seq: int | None = None
        self.seq: int | None = None
        self.aliases: dict[int, _Metric] = {}
        self.metrics: dict[tuple[str, str], int] = {}  # (device, name) → datatype
        self.devices: set[str] = set()
        self.full = False  # metrics beyond max_metrics_per_node were not learnt
        self.rebirth_ms: int | None = None

    def begin(self, bd_seq: int | None, seq: int | None) -> None:
        self.born, self.broken, self.full = True, False, False
        self.bd_seq, self.seq = bd_seq, seq
        self.aliases.clear()
        self.metrics.clear()
        self.devices.clear()

    def forget_device(self, device: str) -> None:
        self.metrics = {key: t for key, t in self.metrics.items() if key[0] != device}
        self.aliases = {a: m for a, m in self.aliases.items() if m.device != device}


class _Sessions:
    """Sessions by (group, edge node), forgetting the least recently heard beyond a limit."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._sessions: OrderedDict[tuple[str, str], _Session] = OrderedDict()

    def get(self, key: tuple[str, str]) -> _Session:
        session = self._sessions.get(key)
        if session is None:
            session = self._sessions[key] = _Session()
            if len(self._sessions) > self._limit:
                self._sessions.popitem(last=False)
        else:
            self._sessions.move_to_end(key)
        return session

    def peek(self, key: tuple[str, str]) -> _Session | None:
        return self._sessions.get(key)

    def pop(self, key: tuple[str, str]) -> None:
        self._sessions.pop(key, None)


class _Origin(NamedTuple):
    group: str
    kind: str
    edge: str
    device: str  # "" for N* messages

    @property
    def node(self) -> tuple[str, str]:
        return (self.group, self.edge)

    @property
    def foreign_id(self) -> str:
        return "/".join(part for part in (self.group, self.edge, self.device) if part)


class Sparkplug:
    name = NAME

    def __init__(self, options: Options, table: FieldTable) -> None:
        self._options = options
        self._table = table
        self._rebirth_ms = parse_duration_ms(options.rebirth_interval)
        self._sessions = _Sessions(options.max_edge_nodes)

    def subscriptions(self) -> list[str]:
        return [f"{NAMESPACE}/{group}/#" for group in self._options.groups] or [f"{NAMESPACE}/#"]

    def reply_filters(self) -> list[str]:
        """Where rebirth requests go: each edge node's NCMD topic."""
        groups = self._options.groups or ["+"]
        return [f"{NAMESPACE}/{group}/NCMD/+" for group in groups]

    def translate(
        self, topic: str, payload: bytes, received_ms: int, content_type: str | None
    ) -> Translation:
        origin = _parse_topic(topic)
        if not isinstance(origin, _Origin):
            return origin
        try:
            decoded = Payload.FromString(payload)
        except DecodeError as exc:
            detail = f"payload is not a Sparkplug B protobuf message: {exc}"
            if payload[:1] in (b"{", b"["):
                detail += "; it looks like JSON, but Sparkplug B payloads are protobuf"
            return refused("bad_payload", detail)
        if origin.kind == "NBIRTH":
            return self._node_birth(origin, decoded)
        if origin.kind == "NDEATH":
            return self._node_death(origin, decoded)
        if origin.kind == "DDEATH":
            return self._device_death(origin, decoded, received_ms)
        return self._in_session(origin, decoded, received_ms)

    # Messages.

    def _node_birth(self, origin: _Origin, payload: Message) -> Translation:
        session = self._sessions.get(origin.node)
        session.begin(_bd_seq(payload), _seq(payload))
        report = self._report(origin)
        report.presence = "online"
        self._read_birth(session, origin, payload, report)
        return Translation(reports=[report])

    def _in_session(self, origin: _Origin, payload: Message, received_ms: int) -> Translation:
        session = self._sessions.get(origin.node)
        problem = self._out_of_session(session, origin, payload)
        if problem:
            return Translation(problems=[problem], replies=self._rebirth(origin, received_ms))
        report = self._report(origin)
        if origin.kind == "DBIRTH":
            self._device_birth(session, origin, payload, report)
            return Translation(reports=[report])
        if self._read_data(session, origin, payload, report):
            return Translation(reports=[report], replies=self._rebirth(origin, received_ms))
        return Translation(reports=[report])

    def _device_birth(
        self, session: _Session, origin: _Origin, payload: Message, report: DeviceReport
    ) -> None:
        session.forget_device(origin.device)
        if len(session.devices) < self._options.max_metrics_per_node:
            session.devices.add(origin.device)
        report.presence = "online"
        self._read_birth(session, origin, payload, report)

    def _device_death(self, origin: _Origin, payload: Message, received_ms: int) -> Translation:
        # Presence needs no aliases, so a DDEATH counts even out of session; a gap or a
        # missing NBIRTH still asks for a rebirth to get the session back.
        session = self._sessions.get(origin.node)
        lost = self._out_of_session(session, origin, payload) is not None
        session.devices.discard(origin.device)
        session.forget_device(origin.device)
        report = self._report(origin)
        report.presence = "offline"
        replies = self._rebirth(origin, received_ms) if lost else []
        return Translation(reports=[report], replies=replies)

    def _node_death(self, origin: _Origin, payload: Message) -> Translation:
        bd_seq = _bd_seq(payload)
        session = self._sessions.peek(origin.node)
        if session and None not in (session.bd_seq, bd_seq) and bd_seq != session.bd_seq:
            return Translation(quiet=True)  # the will of an older connection
        self._sessions.pop(origin.node)
        reports = [self._report(origin)]
        for device in sorted(session.devices) if session else ():
            reports.append(self._report(origin._replace(device=device)))
        for report in reports:
            report.presence = "offline"
        return Translation(reports=reports)

    # Sessions.

    def _out_of_session(
        self, session: _Session, origin: _Origin, payload: Message
    ) -> Problem | None:
        """Why a message from `origin` cannot be read in its session; None when it can."""
        seq = _seq(payload)
        if session.broken:
            detail = (
                f"{origin.kind} from {origin.foreign_id!r} after a gap in its seq: its aliases "
                "may be out of date until its next NBIRTH; a rebirth was requested"
            )
            return Problem("out_of_sequence", detail)
        if not session.born:
            detail = (
                f"{origin.kind} from {origin.foreign_id!r} before its NBIRTH: its metrics "
                "cannot be read without one; a rebirth was requested"
            )
            return Problem("unknown_metric", detail)
        if seq is not None and session.seq is not None:
            expected = (session.seq + 1) % _SEQ_MODULUS
            if seq != expected:
                session.born, session.broken = False, True
                detail = (
                    f"{origin.kind} from {origin.foreign_id!r} has seq {seq} where {expected} "
                    "was due: messages were lost, so its aliases may be out of date until the "
                    "edge node's next NBIRTH; a rebirth was requested"
                )
                return Problem("out_of_sequence", detail)
        if seq is not None:
            session.seq = seq
        return None

    def _rebirth(self, origin: _Origin, received_ms: int) -> list[Reply]:
        session = self._sessions.get(origin.node)
        last = session.rebirth_ms
        if last is not None and 0 <= received_ms - last < self._rebirth_ms:
            return []
        session.rebirth_ms = received_ms
        topic = f"{NAMESPACE}/{origin.group}/NCMD/{origin.edge}"
        return [Reply(topic, rebirth_request(received_ms))]

    def _room(self, session: _Session) -> bool:
        limit = self._options.max_metrics_per_node
        return len(session.metrics) < limit and len(session.aliases) < limit

    # Metrics.

    def _read_birth(
        self, session: _Session, origin: _Origin, payload: Message, report: DeviceReport
    ) -> None:
        payload_ts = _timestamp(payload)
        for index, metric in enumerate(payload.metrics):
            name = metric.name
            if not name or not isinstance(name, str):
                detail = f"{origin.kind} metric[{index}] has no name, or one that is not UTF-8"
                report.problems.append(Problem("bad_payload", detail))
                continue
            self._learn(session, origin, metric, name, report)
            self._read(metric, name, metric.datatype, payload_ts, report)

    def _learn(
        self,
        session: _Session,
        origin: _Origin,
        metric: Message,
        name: str,
        report: DeviceReport,
    ) -> None:
        key = (origin.device, name)
        if key not in session.metrics and not self._room(session):
            if not session.full:
                detail = (
                    f"{origin.foreign_id!r} defines more than {self._options.max_metrics_per_node}"
                    " metrics; the rest are read from BIRTHs only (raise max_metrics_per_node)"
                )
                report.problems.append(Problem("too_many_readings", detail))
            session.full = True
            return
        session.metrics[key] = metric.datatype
        if metric.HasField("alias"):
            session.aliases[metric.alias] = _Metric(origin.device, name, metric.datatype)

    def _read_data(
        self, session: _Session, origin: _Origin, payload: Message, report: DeviceReport
    ) -> bool:
        """Read a DATA message's metrics; True when one was unknown and a rebirth is due."""
        payload_ts = _timestamp(payload)
        unknown = False
        for metric in payload.metrics:
            known = _known(session, origin.device, metric)
            if known is None:
                report.problems.append(self._unknown(session, origin, metric))
                unknown = unknown or not session.full
                continue
            name, birth_type = known
            datatype = metric.datatype if metric.datatype != _UNKNOWN_TYPE else birth_type
            self._read(metric, name, datatype, payload_ts, report)
        return unknown

    def _unknown(self, session: _Session, origin: _Origin, metric: Message) -> Problem:
        which = f"alias {metric.alias}" if metric.HasField("alias") else _shown(metric.name)
        if session.full:
            why = "one of the metrics beyond max_metrics_per_node, which are not learnt"
        else:
            why = "not defined by its BIRTH; a rebirth was requested"
        detail = f"{origin.kind} metric {which} of {origin.foreign_id!r} is {why}"
        return Problem("unknown_metric", detail)

    def _read(
        self,
        metric: Message,
        name: str,
        datatype: int,
        payload_ts: int | None,
        report: DeviceReport,
    ) -> None:
        key = self._key(name)
        if key is None:
            if not name.startswith(_PROTOCOL_PREFIXES) and name != "bdSeq":
                report.skipped.append(name)
            return
        if metric.is_null:
            return  # a metric without a value for now, which is not a reading
        value = _value(metric, datatype)
        ts_ms = metric.timestamp if metric.HasField("timestamp") else payload_ts
        if isinstance(value, Problem):
            sensor = self._table.rule(key).sensor  # type: ignore[union-attr]
            detail = f"metric {_shown(name)}: {value.detail}"
            report.problems.append(Problem(value.reason, detail, sensor))
            return
        report.readings.append(self._table.reading(key, value, ts_ms))  # type: ignore[arg-type]

    def _key(self, name: str) -> str | None:
        """The field table's key for a metric name: whole, or its last part, ignoring case."""
        lowered = name.lower()
        if lowered in self._table:
            return lowered
        last = lowered.rpartition("/")[2]
        return last if last in self._table else None

    def _report(self, origin: _Origin) -> DeviceReport:
        foreign = f"{origin.edge}-{origin.device}" if origin.device else origin.edge
        device = our_id(foreign, self._options.id_prefix)
        return DeviceReport(device, self._options.village, foreign_id=origin.foreign_id)


def rebirth_request(now_ms: int) -> bytes:
    """The NCMD payload that asks an edge node to publish its BIRTHs again."""
    payload = Payload(timestamp=now_ms)
    payload.metrics.add(
        name=_REBIRTH_METRIC, timestamp=now_ms, datatype=_BOOLEAN, boolean_value=True
    )
    return payload.SerializeToString()


def _parse_topic(topic: str) -> _Origin | Translation:
    parts = topic.split("/")
    if parts[0] != NAMESPACE or len(parts) < 3:
        return refused("bad_topic", f"topic {topic[:200]!r} is not {NAMESPACE}/<group>/<type>/…")
    if parts[1] == "STATE" or parts[2] in _COMMANDS:
        return Translation(quiet=True)  # host applications' state, and commands to edge nodes
    if len(parts) not in (4, 5) or parts[2] not in _KINDS or not all(parts):
        detail = (
            f"topic {topic[:200]!r} is not {NAMESPACE}/<group>/<type>/<edge node>[/<device>] "
            f"with a type of {', '.join(sorted(_KINDS))}"
        )
        return refused("bad_topic", detail)
    kind = parts[2]
    if (len(parts) == 5) != kind.startswith("D"):
        detail = f"a {kind} topic {'needs' if kind.startswith('D') else 'has no'} device id"
        return refused("bad_topic", f"{detail}: {topic[:200]!r}")
    return _Origin(parts[1], kind, parts[3], parts[4] if len(parts) == 5 else "")


def _known(session: _Session, device: str, metric: Message) -> tuple[str, int] | None:
    """The name and BIRTH datatype of a DATA metric, found by its alias or its name."""
    if metric.HasField("alias"):
        known = session.aliases.get(metric.alias)
        if known is not None and known.device == device:
            return known.name, known.datatype
    name = metric.name
    if name and isinstance(name, str):
        datatype = session.metrics.get((device, name))
        if datatype is not None:
            return name, datatype
    return None


def _value(metric: Message, datatype: int) -> Value | Problem:
    kind = metric.WhichOneof("value")
    fields = _VALUE_FIELDS.get(datatype)
    type_name = DATA_TYPES.get(datatype, f"datatype {datatype}")
    if fields is None:
        if datatype == _UNKNOWN_TYPE:
            return Problem("wrong_type", "its BIRTH gives it no datatype")
        return Problem("wrong_type", f"a {type_name} metric is not a reading")
    if kind not in fields:
        carried = f"carries {kind}" if kind else "has no value"
        return Problem("wrong_type", f"a {type_name} metric {carried}, not {' or '.join(fields)}")
    raw = getattr(metric, kind)
    if datatype in _SIGNED_BITS:
        return _signed(raw, _SIGNED_BITS[datatype])
    if datatype == _FLOAT and kind == "float_value":
        return _shortest_float32(raw)
    if isinstance(raw, bytes):  # text that is not UTF-8
        return Problem("wrong_type", "its text is not UTF-8")
    return raw


def _signed(raw: int, bits: int) -> int:
    """A signed integer sent as the two's complement in an unsigned field.

    Only the type's own width counts, as senders differ: Int8 −5 arrives as 251 from some and
    as 4294967291 (the 32-bit two's complement) from others.
    """
    low = raw & ((1 << bits) - 1)
    return low - (1 << bits) if low >> (bits - 1) else low


def _shortest_float32(value: float) -> float:
    """The shortest decimal that is the same single-precision float: 12.1, not 12.100000381."""
    if not math.isfinite(value):
        return value
    packed = struct.pack("<f", value)
    for digits in range(1, 10):
        candidate = float(f"{value:.{digits}g}")
        try:
            if struct.pack("<f", candidate) == packed:
                return candidate
        except OverflowError:  # rounded up past the largest single-precision float
            continue
    return value


def _bd_seq(payload: Message) -> int | None:
    for metric in payload.metrics:
        if metric.name == "bdSeq":
            kind = metric.WhichOneof("value")
            if kind in _INTEGER_FIELDS:
                return getattr(metric, kind)
    return None


def _seq(payload: Message) -> int | None:
    return payload.seq if payload.HasField("seq") else None


def _timestamp(payload: Message) -> int | None:
    return payload.timestamp if payload.HasField("timestamp") else None


def _shown(name: object) -> str:
    return repr(name[:_SHOWN]) if isinstance(name, str | bytes) else repr(name)
