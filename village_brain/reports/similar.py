"""Similar items (民呼我为): for one item, the others about the same problem nearby and close
in time; and the groups of items that are all one problem, as merge suggestions.

Two sightings are similar when all three hold:
- category: the same, or related by the configured relation (lighting ~ lamp_state, …);
- distance: at most `distance_m` apart on the plan (haversine), or — when either lacks a
  position — both at the same named place;
- time: created at most `window_ms` apart, either way.
Matches rank by a score that adds the share of the distance and of the window used, plus a
half for a related rather than the same category: lower is more alike.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Literal

import msgspec

from village_brain.reports.geo import haversine_m
from village_brain.reports.sightings import Sighting

CategoryMatch = Literal["same", "related"]
RELATED_PENALTY = 0.5


class Rules(msgspec.Struct, frozen=True):
    distance_m: float
    window_ms: int
    related: Mapping[str, frozenset[str]] = msgspec.field(default_factory=dict)


class Match(msgspec.Struct, frozen=True):
    sighting: Sighting
    distance_m: float | None  # None: matched by the named place alone
    minutes: float  # the other's time minus this one's: negative is earlier
    category: CategoryMatch
    score: float


def relation(pairs: Mapping[str, Iterable[str]]) -> dict[str, frozenset[str]]:
    """The configured relation, both ways: lighting ~ lamp_state makes lamp_state ~ lighting."""
    out: dict[str, set[str]] = {}
    for key, values in pairs.items():
        for value in values:
            out.setdefault(key, set()).add(value)
            out.setdefault(value, set()).add(key)
    return {k: frozenset(v) for k, v in out.items()}


def category_match(
    a: Sighting, b: Sighting, related: Mapping[str, frozenset[str]]
) -> CategoryMatch | None:
    if a.category == b.category:
        return "same"
    near_a = related.get(a.category, frozenset())
    near_b = related.get(b.category, frozenset())
    # An alert is also about its device's kind: a "lighting" report relates to a street_lamp.
    if b.category in near_a or a.category in near_b or (b.kind and b.kind in near_a):
        return "related"
    if a.kind and a.kind in near_b:
        return "related"
    return None


def match(a: Sighting, b: Sighting, rules: Rules) -> Match | None:
    """How b is like a, or None when it is too far, too long apart or about something else."""
    if a.ref == b.ref:
        return None
    minutes = (b.at_ms - a.at_ms) / 60_000
    if abs(b.at_ms - a.at_ms) > rules.window_ms:
        return None
    category = category_match(a, b, rules.related)
    if category is None:
        return None
    if a.position is not None and b.position is not None:
        distance: float | None = haversine_m(a.position, b.position)
        if distance > rules.distance_m:
            return None
        share = distance / rules.distance_m if rules.distance_m else 0.0
    elif a.place and a.place == b.place:
        distance, share = None, 0.5  # somewhere at the place: call it halfway
    else:
        return None
    score = share + abs(b.at_ms - a.at_ms) / max(rules.window_ms, 1)
    score += RELATED_PENALTY if category == "related" else 0.0
    return Match(
        b,
        None if distance is None else round(distance, 1),
        round(minutes, 1),
        category,
        round(score, 4),
    )


def similar(
    item: Sighting, others: Iterable[Sighting], rules: Rules, limit: int = 50
) -> list[Match]:
    """The sightings like item, most alike first. Duplicates already merged are left out:
    the item they were merged into stands for them."""
    found = [
        m for other in others if not _folded(other) and (m := match(item, other, rules)) is not None
    ]
    found.sort(key=lambda m: (m.score, m.sighting.at_ms, m.sighting.ref))
    return found[:limit]


def groups(sightings: Iterable[Sighting], rules: Rules) -> list[list[Sighting]]:
    """Groups of two or more sightings linked by similarity, each link a match (so a chain of
    nearby reports is one group): the merge suggestions. Oldest group first, oldest first within."""
    ordered = sorted(
        (s for s in sightings if s.status != "duplicate"), key=lambda s: (s.at_ms, s.ref)
    )
    parent = list(range(len(ordered)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, a in enumerate(ordered):
        # Sorted by time, so the candidates for a end at the first one past the window.
        for j in range(i + 1, len(ordered)):
            b = ordered[j]
            if b.at_ms - a.at_ms > rules.window_ms:
                break
            if match(a, b, rules) is not None:
                parent[root(j)] = root(i)
    found: dict[int, list[Sighting]] = {}
    for i, s in enumerate(ordered):
        found.setdefault(root(i), []).append(s)
    return [g for g in found.values() if len(g) > 1]


def _folded(other: Sighting) -> bool:
    return other.status == "duplicate" and other.parent_id is not None
