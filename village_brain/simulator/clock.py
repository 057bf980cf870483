"""Simulated time running `speed` times faster than the wall clock."""

from __future__ import annotations

from collections.abc import Callable

from village_brain.core.timefmt import now_ms


class SimClock:
    """Simulated time starts at the wall-clock time of creation (or `start_sim_ms`).

    Physics follows simulated time; payload timestamps stay on the wall clock, because the
    server refuses readings from the future and anything older than its backfill window.
    """

    def __init__(
        self,
        speed: float = 1.0,
        start_sim_ms: int | None = None,
        wall_ms: Callable[[], int] = now_ms,
    ) -> None:
        if speed <= 0:
            raise ValueError(f"speed must be above zero, not {speed}")
        self.speed = speed
        self._wall_ms = wall_ms
        self._wall0 = wall_ms()
        self._sim0 = self._wall0 if start_sim_ms is None else start_sim_ms

    def wall_ms(self) -> int:
        return self._wall_ms()

    def sim_ms(self, wall_ms: int | None = None) -> int:
        wall = self._wall_ms() if wall_ms is None else wall_ms
        return self._sim0 + round((wall - self._wall0) * self.speed)
