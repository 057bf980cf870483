"""Aliyun IoT Platform (阿里云物联网平台) Alink JSON, from devices made for the Aliyun cloud and
pointed at our broker instead; we answer them as the cloud would.

- `/sys/{productKey}/{deviceName}/thing/event/property/post`: `params` maps the product's
  property identifiers to values, plain (`{"Temp": 21.5}`) or with their own time
  (`{"Temp": {"value": 21.5, "time": 1524448722000}}`, epoch ms); an object with a `value`
  member is the second form. Struct and array values are flattened by the rule in nested.py
  (`GeoLocation.Latitude`). Identifiers map to sensor types through the field table.
- `/sys/{productKey}/{deviceName}/thing/event/{identifier}/post`: an event (alarm, fault) with
  `params.value` as its data and `params.time` as its time.
- `/ext/session/{productKey}/{deviceName}/combine/login|logout`: a gateway brings one of its
  sub-devices (named in `params`) online or offline: presence.

Each request gets the reply Aliyun gives, on the request topic plus `_reply`, echoing its
`id`: code 200 "success", or 460 (Aliyun's "request parameter error") with what was wrong
when the request is refused. None is sent when the request asks for none (`sys.ack` 0) or
has no usable `id` to echo, as a device cannot match a reply without one.

Commands (control/downlinks/alink.py) go the other way, as the cloud sends them: a property
set on `/sys/{productKey}/{deviceName}/thing/service/property/set`, a service invoked on
`/sys/{productKey}/{deviceName}/thing/service/{identifier}`; the device's reply on the same
topic plus `_reply` is read here: code 200 is done, any other code failed with its message.
"""

from __future__ import annotations

import msgspec

from village_brain.control.records import CommandResult
from village_brain.core.catalog import Catalog
from village_brain.core.ids import id_problem
from village_brain.core.records import PayloadError, Problem
from village_brain.ingest.codecs.jsontext import describe, load_json, shown
from village_brain.ingest.sources.base import (
    DeviceReport,
    EventReport,
    Reply,
    Translation,
    refused,
)
from village_brain.ingest.sources.fields import FieldTable, Override, load_table
from village_brain.ingest.sources.ids import our_id
from village_brain.ingest.sources.nested import flatten, read_nested

NAME = "alink"
SUCCESS = 200
PARAMETER_ERROR = 460  # Aliyun's device error code for a request parameter error
_LONGEST_ID = 64  # Aliyun's ids are numbers up to 4294967295, sent as text
_SESSION_PRESENCE = {"login": "online", "logout": "offline"}
_MAX_KNOWN_DEVICES = 100_000  # ProductKeys remembered for commands


class Options(msgspec.Struct, forbid_unknown_fields=True):
    village: str
    # deviceName is unique only within its product: include the ProductKey in our ids when
    # devices of several products share names.
    include_product_key: bool = False
    id_prefix: str = ""
    fields: dict[str, Override] = {}
    # Commands: a commanded sensor type → the property identifier it is set through (else
    # the identifier the field table maps to it), and a named action → the service invoked.
    properties: dict[str, str] = {}
    services: dict[str, str] = {}
    # The ProductKey of devices not heard from since the start (their topics name it).
    command_product_key: str = ""


def make(options: Options, catalog: Catalog) -> Alink:
    problem = id_problem("village", options.village)
    if problem:
        raise ValueError(problem)
    return Alink(options, load_table(NAME, options.fields, catalog))


class Alink:
    name = NAME

    def __init__(self, options: Options, table: FieldTable) -> None:
        self._options = options
        self._table = table
        self.known: dict[str, str] = {}  # foreign id → ProductKey, from its last message

    def identifier_of(self, target: str) -> str | None:
        """The property identifier a command to `target` sets."""
        if target in self._options.properties:
            return self._options.properties[target]
        return next((f for f, rule in self._table.items() if rule.sensor == target), None)

    def reply_filters(self) -> list[str]:
        """Where replies go: each request topic plus `_reply`."""
        return [f + "_reply" for f in self.subscriptions() if not f.endswith("_reply")]

    def subscriptions(self) -> list[str]:
        return [
            "/sys/+/+/thing/event/+/post",
            "/ext/session/+/+/combine/login",
            "/ext/session/+/+/combine/logout",
            "/sys/+/+/thing/service/property/set_reply",
            *(f"/sys/+/+/thing/service/{s}_reply" for s in self._options.services.values()),
        ]

    def translate(
        self, topic: str, payload: bytes, received_ms: int, content_type: str | None
    ) -> Translation:
        parts = topic.split("/")
        if (
            len(parts) == 8
            and parts[:2] == ["", "sys"]
            and parts[4:6] == ["thing", "event"]
            and parts[7] == "post"
            and all(parts[2:4])
            and parts[6]
        ):
            return self._post(topic, parts[2], parts[3], parts[6], payload)
        if (
            len(parts) == 7
            and parts[:3] == ["", "ext", "session"]
            and parts[5] == "combine"
            and parts[6] in _SESSION_PRESENCE
        ):
            return self._session(topic, parts[6], payload)
        if (
            7 <= len(parts) <= 8
            and parts[:2] == ["", "sys"]
            and parts[4:6] == ["thing", "service"]
            and parts[-1].endswith("_reply")
            and all(parts[2:4])
        ):
            return self._command_reply(parts[2], parts[3], payload, received_ms)
        return refused(
            "bad_topic",
            f"topic {topic[:200]!r} is not an Alink post Village Brain reads: "
            "/sys/{productKey}/{deviceName}/thing/event/{property|identifier}/post or "
            "/ext/session/{productKey}/{deviceName}/combine/login|logout (note the leading /)",
        )

    def _post(
        self, topic: str, product_key: str, device_name: str, identifier: str, payload: bytes
    ) -> Translation:
        request = _request(payload)
        if isinstance(request, Problem):
            return Translation(problems=[request])
        answer = _Answer(topic, request, method=f"thing.event.{identifier}.post")
        report = self._report(product_key, device_name)
        params = request.get("params")
        if identifier == "property":
            problem = self._properties(params, report)
        else:
            problem = self._event(identifier, params, report)
        if problem is not None:
            return Translation(problems=[problem], replies=answer.refusal(problem))
        return Translation(reports=[report], replies=answer.success({}))

    def _properties(self, params: object, report: DeviceReport) -> Problem | None:
        if not isinstance(params, dict) or not params:
            given = "empty" if params == {} else describe(params)
            detail = f"params must be an object of property identifiers and values; it is {given}"
            return Problem("bad_payload", detail)
        for identifier, given in params.items():
            value, ts_ms = given, None
            if isinstance(given, dict) and "value" in given:
                value, ts_ms = given["value"], _time(f"{identifier}.time", given.get("time"))
            if isinstance(ts_ms, Problem):
                self._untimed(identifier, value, ts_ms, report)
            else:
                read_nested(self._table, value, ts_ms, report, prefix=identifier)
        return None

    def _untimed(self, identifier: str, value: object, problem: Problem, report: DeviceReport):
        """A property whose time is unreadable: refuse what it would map to, skip the rest."""
        for field, _ in flatten(value, identifier):
            rule = self._table.rule(field)
            if rule is None:
                report.skipped.append(field)
            else:
                report.problems.append(Problem(problem.reason, problem.detail, rule.sensor))

    def _event(self, identifier: str, params: object, report: DeviceReport) -> Problem | None:
        if not isinstance(params, dict):
            detail = f"an event's params must be an object with its value; it is {describe(params)}"
            return Problem("bad_payload", detail)
        ts_ms = _time("params.time", params.get("time"))
        if isinstance(ts_ms, Problem):
            return ts_ms
        data = (
            params["value"]
            if "value" in params
            else {k: v for k, v in params.items() if k != "time"}
        )
        if not isinstance(data, dict):
            data = {"value": data}
        report.event = EventReport(our_id(identifier), ts_ms, data)
        return None

    def _command_reply(
        self, product_key: str, device_name: str, payload: bytes, received_ms: int
    ) -> Translation:
        """A device's reply to a property set or service call: its id is our reference."""
        reply = _request(payload)
        if isinstance(reply, Problem):
            return Translation(problems=[reply])
        given, code = reply.get("id"), reply.get("code")
        if not isinstance(given, (str, int)) or type(code) is not int:
            return refused("bad_payload", "a command reply must have an id and an integer code")
        report = self._report(product_key, device_name)
        data = reply.get("data")
        if code == SUCCESS:
            status, reason = "done", ""
        else:
            status, reason = "failed", f"{reply.get('message') or 'no message'} (code {code})"
        answer = CommandResult(
            report.village,
            report.device,
            str(given),
            status,  # type: ignore[arg-type]
            received_ms,
            data if isinstance(data, dict) else {},
            reason[:300],
        )
        return Translation(results=[answer], quiet=True)

    def _session(self, topic: str, action: str, payload: bytes) -> Translation:
        request = _request(payload)
        if isinstance(request, Problem):
            return Translation(problems=[request])
        answer = _Answer(topic, request, method=None)
        params = request.get("params")
        sub_device = params if isinstance(params, dict) else {}
        product_key, device_name = sub_device.get("productKey"), sub_device.get("deviceName")
        if not (_named(product_key) and _named(device_name)):
            detail = f"a sub-device {action} needs params.productKey and params.deviceName"
            problem = Problem("bad_payload", detail)
            return Translation(problems=[problem], replies=answer.refusal(problem))
        report = self._report(product_key, device_name)  # type: ignore[arg-type]
        report.presence = _SESSION_PRESENCE[action]  # type: ignore[assignment]
        data = {"productKey": product_key, "deviceName": device_name}
        return Translation(reports=[report], replies=answer.success(data))

    def _report(self, product_key: str, device_name: str) -> DeviceReport:
        prefix = self._options.id_prefix
        if self._options.include_product_key:
            device = our_id(device_name, f"{prefix}{product_key}_")
            foreign = f"{product_key}/{device_name}"
        else:
            device, foreign = our_id(device_name, prefix), device_name
        if len(self.known) < _MAX_KNOWN_DEVICES or foreign in self.known:
            self.known[foreign] = product_key
        return DeviceReport(device, self._options.village, foreign_id=foreign)


class _Answer:
    """The replies one request gets: none, or one on its topic plus `_reply`."""

    def __init__(self, topic: str, request: dict, method: str | None) -> None:
        self._topic = topic + "_reply"
        self._method = method
        given = request.get("id")
        usable = type(given) is int or (isinstance(given, str) and len(given) <= _LONGEST_ID)
        system = request.get("sys")
        silenced = isinstance(system, dict) and type(system.get("ack")) is int and not system["ack"]
        self._id = given if usable and not silenced else None

    def success(self, data: dict) -> list[Reply]:
        return self._reply(SUCCESS, "success", data)

    def refusal(self, problem: Problem) -> list[Reply]:
        return self._reply(PARAMETER_ERROR, f"request parameter error: {problem.detail}", {})

    def _reply(self, code: int, message: str, data: dict) -> list[Reply]:
        if self._id is None:
            return []
        if self._method is None:  # session replies, as Aliyun documents them
            body = {"id": self._id, "code": code, "message": message, "data": data}
        else:
            body = {"id": self._id, "code": code, "data": data, "message": message}
            body |= {"method": self._method, "version": "1.0"}
        return [Reply(self._topic, msgspec.json.encode(body))]


def _request(payload: bytes) -> dict | Problem:
    try:
        request = load_json(payload)
    except PayloadError as exc:
        return Problem(exc.reason, exc.detail)
    if not isinstance(request, dict):
        return Problem(
            "bad_payload", f"an Alink request must be a JSON object, not {describe(request)}"
        )
    return request


def _time(name: str, raw: object) -> int | Problem | None:
    """An Alink time: epoch milliseconds as a JSON integer, or absent."""
    if raw is None or type(raw) is int:
        return raw  # type: ignore[return-value]
    return Problem("bad_timestamp", f"{shown(name)} is {describe(raw)}, not epoch milliseconds")


def _named(value: object) -> bool:
    return isinstance(value, str) and bool(value)
