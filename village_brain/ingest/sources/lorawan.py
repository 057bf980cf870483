"""What the LoRaWAN network servers' integrations share: JSON event bodies, RFC 3339 times and
the radio link of the gateway that heard an uplink best.

Both ChirpStack and The Things Stack write their JSON with the Protocol Buffers mapping, which
leaves out fields holding a default value: an SNR of exactly 0 dB arrives as no `snr` at all.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from village_brain.core.records import PayloadError, Problem, RawReading
from village_brain.core.timefmt import parse_rfc3339_ms
from village_brain.ingest.codecs.jsontext import (
    as_float,
    describe,
    first_byte,
    is_number,
    load_json,
    shown,
)

# An RFC 3339 time with nanoseconds and an offset is 35 characters; longer text is not a time.
_LONGEST_TIME = 40


def load_event(body: bytes, encoding_hint: str) -> dict | Problem:
    """An event body as a JSON object; `encoding_hint` says how to switch the server to JSON."""
    first = first_byte(body)
    if first != ord("{"):
        what = "an empty body" if first is None else "a body that is not a JSON object"
        return Problem("unknown_format", f"{what}: {encoding_hint}")
    try:
        return load_json(body)  # type: ignore[return-value] - JSON opening with { is an object
    except PayloadError as exc:
        return Problem(exc.reason, exc.detail)


def event_time(name: str, raw: object) -> int | Problem | None:
    """Epoch ms of an RFC 3339 time field; None when the field is absent."""
    if raw is None:
        return None
    if not isinstance(raw, str) or len(raw) > _LONGEST_TIME:
        return Problem("bad_timestamp", f"{shown(name)} is {describe(raw)}, not a time")
    try:
        return parse_rfc3339_ms(raw)
    except ValueError as exc:
        return Problem("bad_timestamp", f"{shown(name)}: {exc}")


def link_readings(
    gateways: object, ts_ms: int | None, rssi_keys: Sequence[str] = ("rssi",)
) -> list[RawReading]:
    """RSSI and SNR of the gateway that heard the uplink best: the highest RSSI, then SNR.

    A village usually has one or two gateways; the best one tells whether the device can be
    heard at all, which is what a weakening link warns of. Entries without an RSSI (the first
    number among `rssi_keys`) are not counted; a missing SNR is the 0 dB the servers omit.
    """
    best: tuple[float, float] | None = None
    best_snr: float | None = None
    for gateway in gateways if isinstance(gateways, list) else ():
        if not isinstance(gateway, dict):
            continue
        rssi = next((gateway[k] for k in rssi_keys if is_number(gateway.get(k))), None)
        if rssi is None:
            continue
        snr = gateway.get("snr", 0.0)
        snr_db = as_float(snr) if is_number(snr) else None
        rank = (as_float(rssi), -math.inf if snr_db is None else snr_db)
        if best is None or rank > best:
            best, best_snr = rank, snr_db
    if best is None:
        return []
    readings = [RawReading("rssi", best[0], "dBm", ts_ms)]
    if best_snr is not None:
        readings.append(RawReading("snr", best_snr, "dB", ts_ms))
    return readings
