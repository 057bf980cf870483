"""A primary lithium cell draining over its service life."""

from __future__ import annotations

from dataclasses import dataclass

DAY_MS = 86_400_000


@dataclass(frozen=True)
class Battery:
    installed_ms: int
    life_days: float

    def charge(self, t_ms: int) -> float:
        """State of charge, 1 when fitted, 0 at the end of its life."""
        used = (t_ms - self.installed_ms) / (self.life_days * DAY_MS)
        return max(0.0, min(1.0, 1.0 - used))

    def voltage(self, t_ms: int) -> float:
        # Lithium thionyl chloride cells hold near 3.6 V most of their life, then fall away.
        return 3.0 + 0.62 * self.charge(t_ms) ** 0.15
