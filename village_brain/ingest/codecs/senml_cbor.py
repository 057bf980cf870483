"""SenML packs in CBOR (RFC 8428 §6, application/senml+cbor), read like SenML JSON.

The RFC makes the CBOR form the JSON form with integer labels (Table 4) for the field names,
so a pack is decoded with `cbor2`, each record's labels become the JSON names, and the
SenML JSON codec's record logic does the rest: both formats give the same readings and the
same refusals for the same pack. What CBOR adds is handled while relabelling: decimal
fractions (tag 4) become floats, and `vd` arrives as a byte string, which is refused like a
JSON `vd`. Text-string keys are the RFC's extension mechanism and keep their names, so a
must-understand `"foo_"` refuses the pack as it does in JSON; integer labels the table does
not list are ignored like unknown JSON fields.
"""

from __future__ import annotations

import io
from decimal import Decimal

import cbor2

from village_brain.core.catalog import Catalog
from village_brain.core.records import Decoded, PayloadError
from village_brain.ingest.codecs.jsontext import describe
from village_brain.ingest.codecs.senml import SenmlCodec

# RFC 8428 Table 4. Base fields have negative labels; Base Sum is -6.
LABELS = {
    -1: "bver",
    -2: "bn",
    -3: "bt",
    -4: "bu",
    -5: "bv",
    -6: "bs",
    0: "n",
    1: "u",
    2: "v",
    3: "vs",
    4: "vb",
    5: "s",
    6: "t",
    7: "ut",
    8: "vd",
}
_ARRAY_FIRST, _ARRAY_LAST = 0x80, 0x9F  # CBOR major type 4 with any length encoding
# What cbor2 raises for malformed input: its own errors, and a few built-in ones from its
# semantic decoders (a tagged date out of range, a bad decimal fraction).
_DECODE_ERRORS = (cbor2.CBORError, ValueError, TypeError, OverflowError, RecursionError)


class SenmlCborCodec:
    name = "senml_cbor"
    content_types = ("application/senml+cbor", "application/sensml+cbor")

    def __init__(self, catalog: Catalog) -> None:
        self._senml = SenmlCodec(catalog)

    def sniffs(self, payload: bytes) -> bool:
        # A CBOR array can never be JSON text, whose first byte is ASCII.
        return bool(payload) and _ARRAY_FIRST <= payload[0] <= _ARRAY_LAST

    def decode(self, payload: bytes, received_ms: int) -> Decoded:
        pack = _load(payload)
        if not isinstance(pack, list):
            detail = f"a SenML CBOR pack must be a CBOR array, not {describe(pack)}"
            raise PayloadError("bad_payload", detail)
        records = [_relabelled(record, index) for index, record in enumerate(pack)]
        return self._senml.read_pack(records, received_ms)


def _load(payload: bytes) -> object:
    stream = io.BytesIO(payload)
    try:
        pack = cbor2.CBORDecoder(stream).decode()
    except _DECODE_ERRORS as exc:
        raise PayloadError("bad_payload", f"payload is not valid CBOR: {exc}") from None
    extra = len(payload) - stream.tell()
    if extra:
        detail = f"{extra} bytes follow the SenML pack; a payload must be one CBOR array"
        raise PayloadError("bad_payload", detail)
    return pack


def _relabelled(record: object, index: int) -> dict:
    """The record with JSON names for its labels and JSON-like values."""
    if not isinstance(record, dict):
        detail = f"record[{index}] must be a CBOR map, not {describe(record)}"
        raise PayloadError("bad_payload", detail)
    named = {}
    for key, value in record.items():
        # `type() is int`, as True would otherwise be read as label 1.
        name = LABELS.get(key) if type(key) is int else key if isinstance(key, str) else None
        if name is not None:
            named[name] = float(value) if isinstance(value, Decimal) else value
    return named
