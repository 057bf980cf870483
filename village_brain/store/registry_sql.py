"""The registry's statements that SQLite and PostgreSQL spell differently.

A batch's presence changes travel as one JSON parameter either way (one statement, not one
per device); only the functions that unpack it differ. PostgreSQL also takes the rows'
locks first, in id order, so workers committing at once never wait on each other in a
circle (see RegistryStore.commit).
"""

from __future__ import annotations

import msgspec


class RegistrySql(msgspec.Struct, frozen=True):
    seen: str
    stored: str
    refused: str
    # Locks the devices a batch touches, in id order; empty where the database has one writer.
    lock: str = ""


SQLITE = RegistrySql(
    seen=(
        "UPDATE devices SET last_seen_ms = max(coalesce(last_seen_ms, 0), seen.value) "
        "FROM json_each(?) AS seen WHERE devices.id = seen.key"
    ),
    stored=(
        "UPDATE devices SET last_stored_ms = max(coalesce(last_stored_ms, 0), stored.value) "
        "FROM json_each(?) AS stored WHERE devices.id = stored.key"
    ),
    # Matched on the village too: a message naming another village is not this device's
    # (see DeviceDirectory.admit), so it says nothing of its health.
    refused=(
        "UPDATE devices SET last_refused_ms = json_extract(r.value, '$[2]'), "
        "last_refused_reason = json_extract(r.value, '$[3]') "
        "FROM json_each(?) AS r "
        "WHERE devices.id = json_extract(r.value, '$[1]') "
        "AND devices.village = json_extract(r.value, '$[0]') "
        "AND json_extract(r.value, '$[2]') >= coalesce(devices.last_refused_ms, 0)"
    ),
)

POSTGRES = RegistrySql(
    seen=(
        "UPDATE devices SET last_seen_ms = "
        "greatest(coalesce(last_seen_ms, 0), seen.value::bigint) "
        "FROM jsonb_each_text(?::jsonb) AS seen WHERE devices.id = seen.key"
    ),
    stored=(
        "UPDATE devices SET last_stored_ms = "
        "greatest(coalesce(last_stored_ms, 0), stored.value::bigint) "
        "FROM jsonb_each_text(?::jsonb) AS stored WHERE devices.id = stored.key"
    ),
    refused=(
        "UPDATE devices SET last_refused_ms = (r.value->>2)::bigint, "
        "last_refused_reason = r.value->>3 "
        "FROM jsonb_array_elements(?::jsonb) AS r (value) "
        "WHERE devices.id = r.value->>1 AND devices.village = r.value->>0 "
        "AND (r.value->>2)::bigint >= coalesce(devices.last_refused_ms, 0)"
    ),
    lock=(
        "SELECT id FROM devices WHERE id IN (SELECT jsonb_array_elements_text(?::jsonb)) "
        "ORDER BY id FOR UPDATE"
    ),
)
