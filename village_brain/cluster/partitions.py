"""Which partition a device belongs to when the input does not say (the AMQP input knows
it: the partition queue a reading came from)."""

from __future__ import annotations

import zlib


def partition_of(device: str, partitions: int) -> int:
    # A stable hash: Python's own hash() differs between processes.
    return zlib.crc32(device.encode("utf-8")) % partitions
