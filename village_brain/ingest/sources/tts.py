"""The Things Stack v3 (The Things Network, The Things Industries): the MQTT server's
`v3/<app-id>@<tenant-id>/devices/<device-id>/<up|join|…>` messages, and the same JSON bodies
from its webhooks.

What a message is comes from its body (`uplink_message`, `join_accept`), so
`translate_event` serves MQTT and webhooks alike:

- uplinks: the payload formatter's `decoded_payload`, flattened by the rule in nested.py and
  mapped through the field table; the best gateway's `rssi` and `snr`; and the battery level
  the device last reported (`last_battery_percentage`), at the time it reported it.
- join-accepts: the device is online.
- downlink bookkeeping, service data and locations: quiet.

The reading time is the Network Server's `uplink_message.received_at`: it is one time for
every gateway that heard the uplink, kept on the server's clock, and the same however the
message reaches us (MQTT, a webhook, a retried webhook), so a second copy is a repeat. The
gateways' `rx_metadata[].time` is left alone, as a gateway without GPS keeps its own clock.
Without it the Application Server's `received_at` is used, then the time of receipt.
"""

from __future__ import annotations

import msgspec

from village_brain.core.catalog import Catalog
from village_brain.core.ids import id_problem
from village_brain.core.records import Problem, RawReading
from village_brain.ingest.codecs.jsontext import as_float, describe, is_number
from village_brain.ingest.sources.base import DeviceReport, Translation, refused
from village_brain.ingest.sources.fields import FieldTable, Override, load_table
from village_brain.ingest.sources.ids import our_id
from village_brain.ingest.sources.lorawan import event_time, link_readings, load_event
from village_brain.ingest.sources.nested import read_nested

NAME = "tts"
_ENCODING_HINT = "The Things Stack sends JSON over MQTT; set the webhook's format to JSON"
_KINDS = {"up": "uplink_message", "join": "join_accept"}
_ID_KEYS = ("device_id", "dev_eui")
_RSSI_KEYS = ("rssi", "channel_rssi")


class Options(msgspec.Struct, forbid_unknown_fields=True):
    village: str
    # `<app-id>@<tenant-id>` as in the MQTT username (`<app-id>` on The Things Stack Open
    # Source), or + for every application the connection may read.
    application: str = "+"
    device_id: str = "device_id"  # or "dev_eui"
    id_prefix: str = ""
    fields: dict[str, Override] = {}


def make(options: Options, catalog: Catalog) -> TheThingsStack:
    problem = id_problem("village", options.village)
    if problem:
        raise ValueError(problem)
    app = options.application
    if not app or "/" in app or "#" in app or ("+" in app and app != "+"):
        raise ValueError(
            f"application {app!r} must be an application id such as app1@ttn, or + for all"
        )
    if options.device_id not in _ID_KEYS:
        choices = " or ".join(_ID_KEYS)
        raise ValueError(f"device_id must be {choices}, not {options.device_id!r}")
    return TheThingsStack(options, load_table(NAME, options.fields, catalog))


class TheThingsStack:
    name = NAME

    def __init__(self, options: Options, table: FieldTable) -> None:
        self._options = options
        self._table = table

    def subscriptions(self) -> list[str]:
        return [f"v3/{self._options.application}/devices/+/{event}" for event in _KINDS]

    def translate(
        self, topic: str, payload: bytes, received_ms: int, content_type: str | None
    ) -> Translation:
        parts = topic.split("/", 4)
        app = self._options.application
        if (
            len(parts) < 5
            or parts[0] != "v3"
            or parts[2] != "devices"
            or not parts[1]
            or not parts[3]
            or (app != "+" and parts[1] != app)
        ):
            expected = f"v3/{app}/devices/<device-id>/<event>"
            return refused("bad_topic", f"topic {topic[:200]!r} is not {expected}")
        return self.translate_event(parts[4], payload, received_ms)

    def translate_event(self, event: str, body: bytes, received_ms: int) -> Translation:
        """One message body: `event` is the topic's tail (up, join, down/sent, …) or, for a
        webhook whose path does not say, "" to go by the body alone."""
        if event and event not in _KINDS:
            return Translation(quiet=True)  # downlink events, service data, locations
        loaded = load_event(body, _ENCODING_HINT)
        if isinstance(loaded, Problem):
            return Translation(problems=[loaded])
        kind = event or next((k for k, key in _KINDS.items() if key in loaded), None)
        if kind is None:
            return Translation(quiet=True)
        content = loaded.get(_KINDS[kind])
        if not isinstance(content, dict):
            given = "none" if content is None else describe(content)
            detail = f"the {kind} message's {_KINDS[kind]} must be a JSON object; it is {given}"
            return refused("bad_payload", detail)
        report = self._report(loaded)
        if isinstance(report, Problem):
            return Translation(problems=[report])
        if kind == "join":
            report.presence = "online"
            return Translation(reports=[report])
        return self._uplink(loaded, content, report)

    def _report(self, message: dict) -> DeviceReport | Problem:
        ids = message.get("end_device_ids")
        key = self._options.device_id
        foreign = ids.get(key) if isinstance(ids, dict) else None
        if not isinstance(foreign, str) or not foreign:
            shown = "" if foreign is None else f" ({describe(foreign)})"
            return Problem("bad_payload", f"end_device_ids.{key} does not name the device{shown}")
        device = our_id(foreign, self._options.id_prefix)
        return DeviceReport(device, self._options.village, foreign_id=foreign)

    def _uplink(self, message: dict, uplink: dict, report: DeviceReport) -> Translation:
        ts_ms = event_time("uplink_message.received_at", uplink.get("received_at"))
        if ts_ms is None:
            ts_ms = event_time("received_at", message.get("received_at"))
        if isinstance(ts_ms, Problem):
            return Translation(problems=[ts_ms])
        decoded = uplink.get("decoded_payload")
        if isinstance(decoded, dict):
            read_nested(self._table, decoded, ts_ms, report)
        elif decoded is not None:
            detail = f"the formatter's decoded_payload is {describe(decoded)}, not a JSON object"
            report.problems.append(Problem("bad_payload", detail))
        report.readings.extend(link_readings(uplink.get("rx_metadata"), ts_ms, _RSSI_KEYS))
        self._battery(uplink.get("last_battery_percentage"), ts_ms, report)
        return Translation(reports=[report])

    def _battery(self, battery: object, uplink_ms: int | None, report: DeviceReport) -> None:
        """The level from the device's last status answer, stamped when it gave it."""
        if not isinstance(battery, dict) or not is_number(battery.get("value")):
            return
        ts_ms = event_time("last_battery_percentage.received_at", battery.get("received_at"))
        if isinstance(ts_ms, Problem):
            report.problems.append(Problem(ts_ms.reason, ts_ms.detail, "battery_level"))
            return
        level = as_float(battery["value"])
        report.readings.append(
            RawReading("battery_level", level, "%", uplink_ms if ts_ms is None else ts_ms)
        )
