"""The rule kinds, one module each, registered in one table."""

from __future__ import annotations

from village_brain.alerts.kinds import boolean, event, no_data, rate, threshold
from village_brain.alerts.kinds.base import KindSpec

KINDS: dict[str, KindSpec] = {
    m.SPEC.name: m.SPEC for m in (threshold, boolean, rate, no_data, event)
}
# Fields some kind reads; a rule may carry only its own kind's.
KIND_FIELDS: frozenset[str] = frozenset().union(*(k.fields for k in KINDS.values()))
