"""What a worker's write is refused with when its partition is not, or no longer, its own.

Apart from the leases and ownership they describe, so that the alert engine of a single
process can name them without loading the PostgreSQL driver.
"""

from __future__ import annotations


class StaleEpoch(Exception):
    """A write under an epoch its partition has moved on from: refused, nothing written."""

    def __init__(self, partition: int, epoch: int, current: int | None) -> None:
        self.partition, self.epoch, self.current = partition, epoch, current
        now = "no lease row" if current is None else f"it is at epoch {current}"
        super().__init__(
            f"partition {partition}: a write under epoch {epoch} refused, {now} "
            "(another worker owns it now)"
        )


class NotOwned(Exception):
    """A write for a device whose partition this worker does not hold."""
