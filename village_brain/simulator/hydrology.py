"""How rain becomes river flow and soil water, as closed-form responses to rain showers.

River runoff is the rain rate passed through a gamma (shape 2) unit hydrograph: flow peaks
about `lag_h` after a burst of rain and recedes over the next half day. Soil water is rain
with exponential drying: each millimetre adds moisture that evaporates with time constant
`dry_h`. Both have exact integrals over a shower of steady rate, so no state is needed.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from village_brain.simulator.weather import Shower

# Past this many time constants a shower's effect is below 0.1 %.
_MEMORY = 10.0


def _hydrograph_step(elapsed_h: float, lag_h: float) -> float:
    """Share of a unit of rain that has run off `elapsed_h` after it fell."""
    if elapsed_h <= 0:
        return 0.0
    x = elapsed_h / lag_h
    return 1.0 - math.exp(-x) * (1.0 + x)


def runoff(showers: Iterable[Shower], t_h: float, lag_h: float) -> float:
    """Rain-fed flow at `t_h`, in mm/h of rain equivalent (0 when it has not rained lately)."""
    return sum(
        s.rate_mm_h
        * (_hydrograph_step(t_h - s.start_h, lag_h) - _hydrograph_step(t_h - s.end_h, lag_h))
        for s in showers
    )


def runoff_window_h(lag_h: float) -> float:
    """How far back a runoff calculation must look for showers."""
    return _MEMORY * lag_h


def retained_rain(showers: Iterable[Shower], t_h: float, dry_h: float) -> float:
    """mm of rain still held in the soil at `t_h`, each mm evaporating with time constant dry_h."""
    held = 0.0
    for s in showers:
        if t_h <= s.start_h:
            continue
        wet_until = min(t_h, s.end_h)
        # Rain that fell over [start, wet_until], each part decayed by its age at t_h.
        held += (
            s.rate_mm_h
            * dry_h
            * (math.exp(-(t_h - wet_until) / dry_h) - math.exp(-(t_h - s.start_h) / dry_h))
        )
    return held


def retention_window_h(dry_h: float) -> float:
    return _MEMORY * dry_h


def soil_moisture(held_mm: float, wilting: float, saturation: float, pct_per_mm: float) -> float:
    """Volumetric water % from retained rain, approaching saturation smoothly."""
    room = saturation - wilting
    return wilting + room * (1.0 - math.exp(-held_mm * pct_per_mm / room))
