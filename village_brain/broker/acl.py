"""The broker's password file and ACL, written from the registry's devices and credentials.

Each device may publish only under its own `village/{village}/{device}/` and read only its
own downlink and answer its commands; the ingest user may read every village's uplink
topics and send commands to every device.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import msgspec

from village_brain.ingest.topics import CHANNELS, ROOT

HEADER = "# Written by `village-brain broker-files`; edits here are lost at the next run.\n"


class DeviceGrant(msgspec.Struct, frozen=True):
    device: str
    village: str


def device_prefix(village: str, device: str) -> str:
    return f"{ROOT}/{village}/{device}"


def downlink_filter(village: str, device: str) -> str:
    """What a device may subscribe to: commands addressed to it (see PROTOCOL.md §2)."""
    return f"{device_prefix(village, device)}/command/#"


def render_acl(
    ingest_user: str,
    devices: Iterable[DeviceGrant],
    source_reads: Iterable[str] = (),
    source_writes: Iterable[str] = (),
) -> str:
    """`source_reads` and `source_writes`: the topic filters ingest's sources read, and the
    ones they answer on (an Alink reply, a Sparkplug rebirth request)."""
    ingest = _ingest_block(ingest_user, list(source_reads), list(source_writes))
    return HEADER + "\n".join([ingest, *(_device_block(grant) for grant in devices)])


def render_passwd(hashes: Mapping[str, str]) -> str:
    """Mosquitto's password file: one `user:hash` line per user."""
    for user in hashes:
        if ":" in user or not user.strip() or user != user.strip():
            raise ValueError(f"{user!r} cannot be a broker user name (no ':' or spaces)")
    return "".join(f"{user}:{hashed}\n" for user, hashed in sorted(hashes.items()))


def _ingest_block(user: str, reads: list[str], writes: list[str]) -> str:
    # All of our root, so a stray topic reaches ingest and is refused where people see it.
    lines = [f"user {user}", f"topic read {ROOT}/#", f"topic write {ROOT}/+/+/command"]
    lines += [f"topic read {topic}" for topic in dict.fromkeys(reads)]
    lines += [f"topic write {topic}" for topic in dict.fromkeys(writes)]
    return "\n".join(lines) + "\n"


def _device_block(grant: DeviceGrant) -> str:
    prefix = device_prefix(grant.village, grant.device)
    lines = [
        f"user {grant.device}",
        *(f"topic write {prefix}/{channel}" for channel in CHANNELS),
        f"topic read {downlink_filter(grant.village, grant.device)}",
        f"topic write {prefix}/command/result",
    ]
    return "\n".join(lines) + "\n"
