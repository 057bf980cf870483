"""Foreign device ids to ours: one documented rule for every family (docs/adapters.md).

Our ids are 1–64 characters of [a-z0-9_-]. A foreign id that already fits, apart from
capitals, is only lower-cased: `tasmota_9CF9D1` becomes `tasmota_9cf9d1`, a DevEUI
`70B3D57ED005A1B2` becomes `70b3d57ed005a1b2`. Anything else has each run of other characters
replaced by `-` and a short hash of the original added, so that `Kitchen Sensor` and
`kitchen-sensor` stay two devices: `kitchen-sensor-3b1f0a`. The original is kept beside ours
in the registry, which is what makes the rule reversible.
"""

from __future__ import annotations

import hashlib
import re

from village_brain.core.ids import id_problem

_OTHER = re.compile(r"[^a-z0-9_-]+")
_MAX = 64
_HASH_CHARS = 6


def our_id(foreign: str, prefix: str = "") -> str:
    """Our device id for a device that calls itself `foreign` (with an optional prefix)."""
    lowered = (prefix + foreign).lower()
    if id_problem("device", lowered) is None:
        return lowered
    digest = hashlib.sha1(foreign.encode("utf-8")).hexdigest()[:_HASH_CHARS]
    stem = _OTHER.sub("-", lowered).strip("-")[: _MAX - _HASH_CHARS - 1]
    return f"{stem}-{digest}" if stem else f"device-{digest}"
