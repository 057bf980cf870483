"""SenML base fields (RFC 8428 §4.1): each applies to its record and every later one until a
later record replaces it. A malformed base field would spoil every record after it, so it
refuses the whole pack."""

from __future__ import annotations

import math

from village_brain.core.records import PayloadError
from village_brain.ingest.codecs.jsontext import as_float, describe, is_number

# RFC 8428 §4.4: a reader must not use a pack newer than the version it understands.
HIGHEST_VERSION = 10


class BaseFields:
    __slots__ = ("has_sum", "name", "time", "unit", "value")

    def __init__(self) -> None:
        self.name = ""
        self.time = 0.0
        self.unit: str | None = None
        self.value = 0.0
        self.has_sum = False

    def update(self, record: dict, index: int) -> None:
        """Take the base fields `record` sets; raises PayloadError for the whole pack."""
        _refuse_must_understand(record, index)
        if "bn" in record:
            self.name = _text(record, "bn", index)
        if "bt" in record:
            self.time = _finite(record, "bt", index)
        if "bu" in record:
            self.unit = _text(record, "bu", index)
        if "bv" in record:
            self.value = _number(record, "bv", index)
        if "bs" in record:
            _number(record, "bs", index)
            self.has_sum = True
        if "bver" in record:
            _check_version(record["bver"], index)


def _refuse_must_understand(record: dict, index: int) -> None:
    for key in record:
        if key.endswith("_"):
            detail = (
                f"record[{index}] has the field {key[:64]!r}, which this server does not "
                "understand; a SenML field ending in '_' must be understood, so the pack "
                "was refused"
            )
            raise PayloadError("bad_payload", detail)


def _text(record: dict, key: str, index: int) -> str:
    raw = record[key]
    if not isinstance(raw, str):
        detail = f"record[{index}] '{key}' must be text, not {describe(raw)}"
        raise PayloadError("bad_payload", detail)
    return raw


def _number(record: dict, key: str, index: int) -> float:
    raw = record[key]
    if not is_number(raw):
        detail = f"record[{index}] '{key}' must be a number, not {describe(raw)}"
        raise PayloadError("bad_payload", detail)
    return as_float(raw)


def _finite(record: dict, key: str, index: int) -> float:
    number = _number(record, key, index)
    if not math.isfinite(number):
        detail = f"record[{index}] '{key}' must be a finite number, not {describe(number)}"
        raise PayloadError("bad_payload", detail)
    return number


def _check_version(raw: object, index: int) -> None:
    if type(raw) is not int or raw < 1:
        detail = f"record[{index}] 'bver' must be a positive integer, not {describe(raw)}"
        raise PayloadError("bad_payload", detail)
    if raw > HIGHEST_VERSION:
        detail = (
            f"record[{index}] has SenML version {describe(raw)}; this server reads versions up to "
            f"{HIGHEST_VERSION}, so the pack was refused"
        )
        raise PayloadError("bad_payload", detail)
