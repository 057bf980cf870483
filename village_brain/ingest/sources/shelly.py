"""Shelly Gen2 and later: JSON-RPC notifications on `<prefix>/events/rpc`, presence on
`<prefix>/online`, and component status on `<prefix>/status/<component>`.

NotifyStatus carries only what changed and NotifyFullStatus everything; either way each field
present is a reading at the frame's `params.ts`, and a field sent as null (a key that went
away) is none. The device is named by its topic prefix, which defaults to its Shelly id
(`shellyplusht-b8d61a8b17cc`): `<prefix>/online` has no frame and so no `src`, and a device
must be one device in all three topics.

Commands go as RPC requests to `<prefix>/rpc` (control/downlinks/shelly.py) with `src`
`<rpc_source>/<foreign id>`, so the device answers on `<rpc_source>/<foreign id>/rpc`: a
`result` is done, an `error` failed with its message.
"""

from __future__ import annotations

import math

import msgspec

from village_brain.control.records import CommandResult
from village_brain.core.catalog import Catalog
from village_brain.core.ids import id_problem
from village_brain.core.records import PayloadError, Problem
from village_brain.ingest.codecs.jsontext import as_float, describe, is_number, load_json
from village_brain.ingest.sources.base import DeviceReport, EventReport, Translation, refused
from village_brain.ingest.sources.fields import Override
from village_brain.ingest.sources.ids import our_id
from village_brain.ingest.sources.lookup import FieldLookup, add_reading, make_lookup
from village_brain.ingest.sources.prefixes import PrefixPatterns

NAME = "shelly"
# A clock before this has not been set yet (the device reports seconds since it booted).
_CLOCK_SET_AFTER_MS = 1_451_606_400_000  # 2016-01-01T00:00:00Z
_STATUS_METHODS = frozenset(("NotifyStatus", "NotifyFullStatus"))
_MAX_DEPTH = 3  # Shelly nests status fields at most this deep (aenergy.total, battery.V)
# Configuration and firmware-update bookkeeping (config_changed, ota_progress …), which
# during an update would arrive by the dozen: not events of the village.
_HOUSEKEEPING = frozenset(("sys",))


class Options(msgspec.Struct, forbid_unknown_fields=True):
    village: str
    # MQTT topic prefixes of the devices; `+` is any one level. The default reads every device
    # that kept Shelly's default prefix, its own id.
    prefixes: list[str] = msgspec.field(default_factory=lambda: ["+"])
    id_prefix: str = ""
    fields: dict[str, Override] = {}
    # Commanded sensor type → the component that does it, as Shelly names it ("switch:1",
    # "cover:0"); a type not named here goes to switch:0 (on/off) or cover:0 (a position).
    controls: dict[str, str] = {}
    # The `src` of our RPC requests, before the device's id; answers come back under it.
    # Empty: village-brain/<village>.
    rpc_source: str = ""


def make(options: Options, catalog: Catalog) -> Shelly:
    problem = id_problem("village", options.village) or _rpc_problem(options)
    if problem:
        raise ValueError(problem)
    lookup = make_lookup(NAME, options.fields, catalog)
    return Shelly(options, PrefixPatterns(options.prefixes), lookup)


class Shelly:
    name = NAME

    def __init__(self, options: Options, prefixes: PrefixPatterns, lookup: FieldLookup) -> None:
        self._options = options
        self._prefixes = prefixes
        self._lookup = lookup
        self.rpc_source = options.rpc_source or f"village-brain/{options.village}"

    def subscriptions(self) -> list[str]:
        suffixes = ("events/rpc", "online", "status/+")
        filters = [topic for suffix in suffixes for topic in self._prefixes.filters(suffix)]
        return filters + self._answer_filters()

    def _answer_filters(self) -> list[str]:
        # The device's id is its prefix from the first `+` on: the same levels here.
        parts = [p.split("/") for p in self._options.prefixes]
        tails = ["/".join(p[p.index("+") if "+" in p else 0 :]) for p in parts]
        return [f"{self.rpc_source}/{tail}/rpc" for tail in dict.fromkeys(tails)]

    def translate(
        self, topic: str, payload: bytes, received_ms: int, content_type: str | None
    ) -> Translation:
        levels = topic.split("/")
        if topic.startswith(self.rpc_source + "/") and levels[-1] == "rpc":
            foreign = topic[len(self.rpc_source) + 1 : -len("/rpc")]
            return self._answer(foreign, payload, received_ms)
        if levels[-2:] == ["events", "rpc"]:
            report = self._report(levels[:-2])
            return self._frame(report, payload) if report else self._bad_topic(topic)
        if levels[-1] == "online":
            report = self._report(levels[:-1])
            return self._online(report, payload) if report else self._bad_topic(topic)
        if len(levels) >= 3 and levels[-2] == "status":
            report = self._report(levels[:-2])
            return self._status(report, levels[-1], payload) if report else self._bad_topic(topic)
        return self._bad_topic(topic)

    def _report(self, prefix: list[str]) -> DeviceReport | None:
        foreign = self._prefixes.device("/".join(prefix)) if prefix else None
        if foreign is None:
            return None
        device = our_id(foreign, self._options.id_prefix)
        return DeviceReport(device, self._options.village, foreign_id=foreign)

    def _bad_topic(self, topic: str) -> Translation:
        detail = (
            f"topic {topic[:200]!r} is not <prefix>/events/rpc, <prefix>/online or "
            "<prefix>/status/<component> under one of the prefixes this source reads"
        )
        return refused("bad_topic", detail)

    def _answer(self, foreign: str, payload: bytes, received_ms: int) -> Translation:
        """A response frame to one of our commands: its id is the command's."""
        frame = _json(payload)
        if isinstance(frame, Translation):
            return frame
        if not isinstance(frame, dict) or not foreign:
            return refused("bad_payload", "an RPC response frame must be a JSON object")
        given = frame.get("id")
        if not isinstance(given, str) or not given:
            return Translation(quiet=True)  # our ids are text: not an answer to us
        error = frame.get("error")
        if isinstance(error, dict) or "result" not in frame:
            message = error.get("message") if isinstance(error, dict) else None
            code = error.get("code") if isinstance(error, dict) else None
            reason = f"the device refused it: {message or 'no message'} (error {code})"
            status, state = "failed", {}
        else:  # Switch.Set answers with what was before ({"was_on": false}): not a state
            status, reason, state = "done", "", {}
        device = our_id(foreign, self._options.id_prefix)
        answer = CommandResult(
            self._options.village, device, given, status, received_ms, state, reason[:300]
        )
        return Translation(results=[answer], quiet=True)

    def _online(self, report: DeviceReport, payload: bytes) -> Translation:
        text = payload.decode("utf-8", "replace").strip()
        word = {"true": "online", "false": "offline"}.get(text.lower())
        if word is None:
            return refused("bad_payload", f"online must be true or false, not {text[:40]!r}")
        report.presence = word  # type: ignore[assignment]
        return Translation(reports=[report])

    def _status(self, report: DeviceReport, component: str, payload: bytes) -> Translation:
        status = _json(payload)
        if isinstance(status, Translation):
            return status
        if not isinstance(status, dict):
            detail = f"a component status must be a JSON object, not {describe(status)}"
            return refused("bad_payload", detail)
        self._component(component, status, None, report)
        return Translation(reports=[report])

    def _frame(self, report: DeviceReport, payload: bytes) -> Translation:
        frame = _json(payload)
        if isinstance(frame, Translation):
            return frame
        method = frame.get("method") if isinstance(frame, dict) else None
        params = frame.get("params") if isinstance(frame, dict) else None
        if not isinstance(method, str) or not isinstance(params, dict):
            detail = "an events/rpc frame must be a JSON object with a method and params object"
            return refused("bad_payload", detail)
        if method not in _STATUS_METHODS and method != "NotifyEvent":
            return Translation(quiet=True)  # an RPC notification with nothing to store
        ts_ms = _time(params.get("ts"), "params.ts")
        if isinstance(ts_ms, Problem):
            return Translation(problems=[ts_ms])
        if method == "NotifyEvent":
            return self._events(report, params.get("events"), ts_ms)
        for key, value in params.items():
            if key == "ts":
                continue
            if isinstance(value, dict):
                self._component(key, value, ts_ms, report)
            else:
                report.skipped.append(key)
        return Translation(reports=[report])

    def _component(self, key: str, status: dict, ts_ms: int | None, report: DeviceReport) -> None:
        kind = key.partition(":")[0]
        for path, raw in _leaves(status):
            names = (f"{key}.{path}", f"{kind}.{path}")
            reading = None if raw is None else self._lookup.reading(names, raw, ts_ms)
            if reading is None:  # unmapped, or null: a key the device dropped
                report.skipped.append(f"{key}.{path}")
            else:
                add_reading(report, reading, f"{key}.{path}")

    def _events(self, report: DeviceReport, events: object, ts_ms: int | None) -> Translation:
        """One report per event, each on the device; skips and problems go on the first."""
        if not isinstance(events, list):
            return refused("bad_payload", "a NotifyEvent frame must have a list of events")
        reports: list[DeviceReport] = []
        for event in events:
            name = event.get("event") if isinstance(event, dict) else None
            if not isinstance(name, str) or not name:
                report.skipped.append("events")
                continue
            component = str(event.get("component", ""))
            if component.partition(":")[0] in _HOUSEKEEPING:
                report.skipped.append(f"{component}/{name}")
                continue
            own_ts = _time(event.get("ts"), "events.ts")
            if isinstance(own_ts, Problem):
                report.problems.append(own_ts)
                continue
            data = {k: v for k, v in event.items() if k != "ts"}
            happened = EventReport(our_id(name), ts_ms if own_ts is None else own_ts, data)
            reports.append(
                DeviceReport(
                    report.device, report.village, foreign_id=report.foreign_id, event=happened
                )
            )
        if not reports:
            return Translation(reports=[report])
        reports[0].skipped, reports[0].problems = report.skipped, report.problems
        return Translation(reports=reports)


def _json(payload: bytes) -> object:
    try:
        return load_json(payload)
    except PayloadError as exc:
        return refused(exc.reason, exc.detail)


def _leaves(status: dict) -> list[tuple[str, object]]:
    """The fields of a component status as dotted paths (`aenergy.total`), without its `id`."""
    found: list[tuple[str, object]] = []
    pending: list[tuple[str, object, int]] = [
        (key, value, 1) for key, value in status.items() if key != "id"
    ]
    while pending:
        path, value, depth = pending.pop(0)
        if isinstance(value, dict) and value and depth < _MAX_DEPTH:
            pending[:0] = [(f"{path}.{k}", v, depth + 1) for k, v in value.items()]
        else:
            found.append((path, value))
    return found


def _time(raw: object, name: str) -> int | Problem | None:
    """A Shelly time (epoch seconds, a float) as epoch ms; None while the clock is unset."""
    if raw is None:
        return None
    ms = as_float(raw) * 1000 if is_number(raw) else math.nan  # type: ignore[arg-type]
    if not math.isfinite(ms):
        return Problem("bad_timestamp", f"{name!r} is {describe(raw)}, not epoch seconds")
    return round(ms) if ms >= _CLOCK_SET_AFTER_MS else None


def _rpc_problem(options: Options) -> str | None:
    source = options.rpc_source
    if source and (not all(source.split("/")) or {"+", "#"} & set(source)):
        return f"rpc_source {source!r} must be topic levels without + or # or empty levels"
    for target, component in options.controls.items():
        kind, _, number = component.partition(":")
        if kind not in ("switch", "cover") or not number.isdigit():
            return f"controls.{target} is {component!r}: write switch:<id> or cover:<id>"
    return None
