"""SenML packs in JSON (RFC 8428, application/senml+json), as PROTOCOL §4 reads them."""

from __future__ import annotations

import math

from village_brain.core.catalog import Catalog
from village_brain.core.records import Decoded, PayloadError, Problem, RawReading, Value
from village_brain.core.timefmt import is_time_ms
from village_brain.ingest.codecs.jsontext import (
    as_float,
    describe,
    first_byte,
    is_number,
    load_json,
    shown,
)
from village_brain.ingest.codecs.senml_base import BaseFields

# RFC 8428 §4.5.3: resolved times below 2**28 s are relative to "now", the rest are absolute.
_RELATIVE_BELOW_S = 2**28
_VALUE_FIELDS = ("v", "vb", "vs", "vd")
_REGULAR_FIELDS = frozenset(("n", "u", "v", "vs", "vb", "vd", "s", "t", "ut"))


class SenmlCodec:
    name = "senml"
    content_types = ("application/senml+json", "application/sensml+json")

    def __init__(self, catalog: Catalog) -> None:
        self._catalog = catalog

    def sniffs(self, payload: bytes) -> bool:
        return first_byte(payload) == ord("[")

    def decode(self, payload: bytes, received_ms: int) -> Decoded:
        return self.read_pack(_pack(load_json(payload)), received_ms)

    def read_pack(self, pack: list, received_ms: int) -> Decoded:
        """The readings of a pack's records, keyed by their JSON names whichever format
        carried them (SenML CBOR maps its integer labels to these names first)."""
        if not pack:
            detail = "the SenML pack is empty: it needs at least one record"
            raise PayloadError("bad_payload", detail)
        base = BaseFields()
        decoded = Decoded()
        for index, record in enumerate(pack):
            if not isinstance(record, dict):
                detail = f"record[{index}] must be an object, not {describe(record)}"
                raise PayloadError("bad_payload", detail)
            base.update(record, index)
            # A record of base fields only sets up the ones after it (RFC 8428 §5.1.7).
            if _REGULAR_FIELDS.isdisjoint(record):
                continue
            result = self._reading(record, base, index, received_ms)
            if type(result) is Problem:  # not isinstance: see is_number
                decoded.problems.append(result)
            else:
                decoded.readings.append(result)
        return decoded

    def _reading(
        self, record: dict, base: BaseFields, index: int, received_ms: int
    ) -> RawReading | Problem:
        name = record.get("n", "")
        if not isinstance(name, str):
            return Problem("wrong_type", f"record[{index}] 'n' must be text, not {describe(name)}")
        name = base.name + name
        sensor = self.sensor_for(name)
        if not sensor:
            detail = f"record[{index}] name {shown(name)} does not end in a sensor name"
            return Problem("unknown_sensor", detail)
        unit = record.get("u", base.unit)
        if unit is not None and not isinstance(unit, str):
            unit = Problem("wrong_type", f"'u' must be text, not {describe(unit)}")
        value = _value(record, base)
        ts_ms = _time_ms(record, base, received_ms)
        for part in (unit, value, ts_ms):
            if type(part) is Problem:
                # Located only here, as locating costs time that good records should not pay.
                detail = f"record[{index}] ({shown(name)}): {part.detail}"
                return Problem(part.reason, detail, sensor)
        return RawReading(sensor, value, unit, ts_ms)  # type: ignore[arg-type]

    def sensor_for(self, name: str) -> str:
        """The sensor type a resolved SenML name means, or its last part when none matches."""
        last = name[max(name.rfind(":"), name.rfind("/")) + 1 :]
        sensor_type = self._catalog.by_senml_name(last)
        return sensor_type.id if sensor_type else last


def _pack(pack: object) -> list:
    if not isinstance(pack, list):
        detail = f"a SenML pack must be a JSON array, not {describe(pack)}"
        raise PayloadError("bad_payload", detail)
    return pack


def _value(record: dict, base: BaseFields) -> Value | Problem:
    fields = [field for field in _VALUE_FIELDS if field in record]
    if len(fields) != 1:
        return Problem("wrong_type", _value_count_detail(fields, record, base))
    field = fields[0]
    raw = record[field]
    if field == "v" and is_number(raw):
        return base.value + as_float(raw)
    if (field == "vb" and isinstance(raw, bool)) or (field == "vs" and isinstance(raw, str)):
        return raw
    if field == "vd":
        return Problem("wrong_type", "data values (vd) are not supported")
    kind = {"v": "a number", "vb": "a boolean", "vs": "text"}[field]
    return Problem("wrong_type", f"'{field}' must be {kind}, not {describe(raw)}")


def _value_count_detail(fields: list[str], record: dict, base: BaseFields) -> str:
    if fields:
        return f"more than one value field ({', '.join(fields)}); send exactly one"
    if "s" in record or base.has_sum:
        return "sum values (s) are not supported; send the value in v"
    return "no value: give it v, vb or vs"


def _time_ms(record: dict, base: BaseFields, received_ms: int) -> int | Problem | None:
    raw = record.get("t", 0)
    seconds = base.time + as_float(raw) if is_number(raw) else math.nan
    if not math.isfinite(seconds * 1000):  # finite seconds can still overflow in milliseconds
        detail = f"'t' must be a finite number of seconds, not {describe(raw)}"
        return Problem("bad_timestamp", detail)
    if seconds == 0:
        return None  # "now": the pipeline stamps it with the time of receipt
    ms = seconds * 1000
    if not is_time_ms(ms):
        detail = f"'t' resolves to {seconds:g} s: too far from 1970 to be a time"
        return Problem("bad_timestamp", detail)
    if seconds < _RELATIVE_BELOW_S:
        return received_ms + round(ms)
    return round(ms)
