"""ChirpStack v4: the MQTT integration's `application/<id>/device/<dev_eui>/event/<event>` JSON
events, and the same bodies from its HTTP integration (`POST …?event=up`).

The event type is the topic's last level (or the HTTP `event` parameter); everything else
comes from the body, so `translate_event` serves both integrations:

- `up`: the payload decoder's `object`, flattened by the rule in nested.py and mapped through
  the field table; the best gateway's `rssi` and `snr`; all at the event's `time`.
- `status`: the device's `batteryLevel` (%), unless it runs on external power or cannot
  measure its battery (`externalPowerSource`, `batteryLevelUnavailable`).
- `join`: the device is online.
- `txack` and `ack`: answers to a downlink Village Brain enqueued (control/downlinks/
  chirpstack.py): a gateway sent it (accepted), the device acknowledged it (done) or not
  (failed). Matched to the command by `queueItemId`, the queue item id we gave it.
- `log`, `location`, `integration` and any later event type: quiet.

Each event also tells which application and device profile a device belongs to, which the
downlink needs for its topic and payload encoding; the adapter keeps the last ones seen.
"""

from __future__ import annotations

import msgspec
from paho.mqtt.client import topic_matches_sub

from village_brain.control.records import CommandResult
from village_brain.core.catalog import Catalog
from village_brain.core.ids import id_problem
from village_brain.core.records import Problem, RawReading
from village_brain.ingest.codecs.jsontext import as_float, describe, is_number
from village_brain.ingest.sources.base import DeviceReport, Translation, refused
from village_brain.ingest.sources.fields import FieldTable, Override, load_table
from village_brain.ingest.sources.ids import our_id
from village_brain.ingest.sources.lorawan import event_time, link_readings, load_event
from village_brain.ingest.sources.nested import read_nested

NAME = "chirpstack"
_ENCODING_HINT = (
    "ChirpStack sends Protobuf unless told otherwise; set json = true under "
    "[integration.mqtt] in chirpstack.toml, or the HTTP integration's encoding to JSON"
)
_ID_KEYS = {"dev_eui": "devEui", "device_name": "deviceName"}
_MAX_KNOWN_DEVICES = 100_000
_ANSWERS = ("ack", "txack")


class ProfileDownlink(msgspec.Struct, forbid_unknown_fields=True):
    """How the devices of one device profile take commands: the FPort, and the bytes (hex)
    for each commanded type and value (`lamp_state = { on = "0101", off = "0100" }`)."""

    f_port: int
    payloads: dict[str, dict[str, str]]
    confirmed: bool = True  # ask the device to acknowledge: the ack makes the command done


class Options(msgspec.Struct, forbid_unknown_fields=True):
    village: str
    # ChirpStack's event_topic template as a subscription; the event is the last level.
    topic: str = "application/+/device/+/event/+"
    device_id: str = "dev_eui"  # or "device_name"
    id_prefix: str = ""
    fields: dict[str, Override] = {}
    # Downlink encodings by device profile name (deviceInfo.deviceProfileName); "*" is any.
    downlinks: dict[str, ProfileDownlink] = {}
    # The application of devices not heard from since the start (their events name it).
    application_id: str = ""


def make(options: Options, catalog: Catalog) -> ChirpStack:
    problem = id_problem("village", options.village)
    if problem:
        raise ValueError(problem)
    problem = _filter_problem(options.topic)
    if problem:
        raise ValueError(problem)
    if options.device_id not in _ID_KEYS:
        choices = " or ".join(_ID_KEYS)
        raise ValueError(f"device_id must be {choices}, not {options.device_id!r}")
    problem = _downlinks_problem(options.downlinks)
    if problem:
        raise ValueError(problem)
    return ChirpStack(options, load_table(NAME, options.fields, catalog))


class ChirpStack:
    name = NAME

    def __init__(self, options: Options, table: FieldTable) -> None:
        self._options = options
        self._table = table
        self._events = {"up": self._up, "status": self._status, "join": self._join}
        # foreign id → (application id, device profile name, DevEUI), from its last event
        self.known: dict[str, tuple[str, str, str]] = {}

    def subscriptions(self) -> list[str]:
        return [self._options.topic]

    def translate(
        self, topic: str, payload: bytes, received_ms: int, content_type: str | None
    ) -> Translation:
        if not topic_matches_sub(self._options.topic, topic):
            detail = f"topic {topic[:200]!r} does not match {self._options.topic}"
            return refused("bad_topic", detail)
        return self.translate_event(topic.rpartition("/")[2], payload, received_ms)

    def translate_event(self, event: str, body: bytes, received_ms: int) -> Translation:
        """One ChirpStack event body of type `event` (up, status, join, …), from any integration."""
        if event in _ANSWERS:
            return self._answer_event(event, load_event(body, _ENCODING_HINT), received_ms)
        handler = self._events.get(event)
        if handler is None:
            return Translation(quiet=True)  # logs, locations
        loaded = load_event(body, _ENCODING_HINT)
        if isinstance(loaded, Problem):
            return Translation(problems=[loaded])
        report = self._report(loaded)
        if isinstance(report, Problem):
            return Translation(problems=[report])
        ts_ms = event_time("time", loaded.get("time"))
        if isinstance(ts_ms, Problem):
            return Translation(problems=[ts_ms])
        return handler(loaded, ts_ms, report)

    def _report(self, event: dict) -> DeviceReport | Problem:
        info = event.get("deviceInfo")
        key = _ID_KEYS[self._options.device_id]
        foreign = info.get(key) if isinstance(info, dict) else None
        if not isinstance(foreign, str) or not foreign:
            detail = f"the event has no deviceInfo.{key} naming the device"
            if isinstance(info, dict) and key in info:
                detail = f"deviceInfo.{key} is {describe(foreign)}, not a device name"
            return Problem("bad_payload", detail)
        device = our_id(foreign, self._options.id_prefix)
        self._remember(foreign, info)  # type: ignore[arg-type]
        return DeviceReport(device, self._options.village, foreign_id=foreign)

    def _remember(self, foreign: str, info: dict) -> None:
        found = tuple(str(info.get(k) or "") for k in ("applicationId", "deviceProfileName"))
        dev_eui = str(info.get("devEui") or "")
        if len(self.known) < _MAX_KNOWN_DEVICES or foreign in self.known:
            self.known[foreign] = (found[0], found[1], dev_eui)

    def _up(self, event: dict, ts_ms: int | None, report: DeviceReport) -> Translation:
        decoded = event.get("object")
        if isinstance(decoded, dict):
            read_nested(self._table, decoded, ts_ms, report)
        elif decoded is not None:
            detail = f"the decoder's 'object' is {describe(decoded)}, not a JSON object"
            report.problems.append(Problem("bad_payload", detail))
        report.readings.extend(link_readings(event.get("rxInfo"), ts_ms))
        return Translation(reports=[report])

    def _status(self, event: dict, ts_ms: int | None, report: DeviceReport) -> Translation:
        level = event.get("batteryLevel")
        mains = event.get("externalPowerSource") is True
        if mains or event.get("batteryLevelUnavailable") is True or not is_number(level):
            return Translation(quiet=True)  # nothing measured: no battery level to store
        report.readings.append(RawReading("battery_level", as_float(level), "%", ts_ms))
        return Translation(reports=[report])

    def _join(self, event: dict, ts_ms: int | None, report: DeviceReport) -> Translation:
        report.presence = "online"
        return Translation(reports=[report])

    def _answer_event(self, event: str, loaded: dict | Problem, received_ms: int) -> Translation:
        """A txack or ack about a downlink; quiet whatever it holds when it is not one of ours
        to follow (an item someone else enqueued is simply matched to no command)."""
        report = None if isinstance(loaded, Problem) else self._report(loaded)
        item = None if isinstance(loaded, Problem) else loaded.get("queueItemId")
        if not isinstance(report, DeviceReport) or not isinstance(item, str) or not item:
            return Translation(quiet=True)
        if event == "txack":
            status, reason = "accepted", ""
        elif loaded.get("acknowledged") is True:  # type: ignore[union-attr]
            status, reason = "done", ""
        else:
            status, reason = "failed", "the device did not acknowledge it"
        answer = CommandResult(
            report.village,
            report.device,
            item,
            status,  # type: ignore[arg-type]
            received_ms,
            reason=reason,
        )
        return Translation(results=[answer], quiet=True)


def _filter_problem(topic: str) -> str | None:
    """Why `topic` is not an MQTT subscription ending in the event level, or None."""
    levels = topic.split("/")
    whole = all(level in ("+", "#") or not {"+", "#"} & set(level) for level in levels)
    if not topic or "#" in levels[:-1] or not whole:
        return (
            f"topic {topic!r} is not an MQTT topic filter: + and # stand for whole levels "
            "and # only at the end, e.g. application/+/device/+/event/+"
        )
    return None


def _downlinks_problem(downlinks: dict[str, ProfileDownlink]) -> str | None:
    for profile, downlink in downlinks.items():
        if not 1 <= downlink.f_port <= 223:
            return f"downlinks.{profile}.f_port is {downlink.f_port}: LoRaWAN uses 1 to 223"
        for target, values in downlink.payloads.items():
            for value, hex_bytes in values.items():
                try:
                    bytes.fromhex(hex_bytes)
                except ValueError:
                    return (
                        f"downlinks.{profile}.payloads.{target}.{value} is {hex_bytes!r}, "
                        "not hex bytes such as 0101"
                    )
    return None
