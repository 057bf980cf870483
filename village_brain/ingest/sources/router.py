"""Which configured source reads a topic, and every topic filter the sources need.

Our own layout (`village/...`) is the default source and never needs routing: the pipeline
reads it directly. Every other topic goes to the first source, in configuration order,
with a filter that matches it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from paho.mqtt.client import topic_matches_sub

from village_brain.core.catalog import Catalog
from village_brain.ingest.sources.base import Adapter
from village_brain.ingest.sources.registry import build_adapter

NATIVE = "native"
# Topic filters a discovery source may learn, at most: each is checked for every message.
MAX_LEARNT_FILTERS = 10_000


class Source:
    def __init__(self, name: str, adapter: Adapter) -> None:
        self.name = name
        self.adapter = adapter
        self.filters: list[str] = list(adapter.subscriptions())
        self._known = set(self.filters)

    def reply_filters(self) -> list[str]:
        """Where this source answers devices, for the broker's ACL (adapters that answer
        define `reply_filters`; the others send nothing)."""
        declared = getattr(self.adapter, "reply_filters", None)
        return list(declared()) if declared is not None else []

    def reads(self, topic: str) -> bool:
        return any(topic_matches_sub(f, topic) for f in self.filters)

    def learn(self, filters: Iterable[str]) -> list[str]:
        """Add filters; returns the ones that are new."""
        new = [f for f in filters if f not in self._known]
        room = MAX_LEARNT_FILTERS - len(self.filters)
        new = new[: max(room, 0)]
        self.filters += new
        self._known.update(new)
        return new


class Sources:
    def __init__(self, sources: Sequence[Source]) -> None:
        self._sources = list(sources)
        # A device publishes on the same few topics again and again: remember their source.
        self._by_topic: dict[str, Source | None] = {}

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._sources)

    def subscriptions(self) -> list[str]:
        return [f for source in self._sources for f in source.filters]

    def named(self, name: str) -> Source | None:
        return next((s for s in self._sources if s.name == name), None)

    def source_for(self, topic: str) -> Source | None:
        if topic in self._by_topic:
            return self._by_topic[topic]
        found = next((s for s in self._sources if s.reads(topic)), None)
        if len(self._by_topic) >= MAX_LEARNT_FILTERS:
            self._by_topic.clear()
        self._by_topic[topic] = found
        return found

    def learn(self, source: Source, filters: Sequence[str]) -> list[str]:
        if not filters:
            return []
        new = source.learn(filters)
        if new:
            self._by_topic.clear()  # a topic without a source may have one now
        return new


def build_sources(tables: Sequence[dict[str, Any]], catalog: Catalog) -> Sources:
    """The sources `[[ingest.sources]]` asks for; ValueError names the table and what to fix."""
    sources = []
    for index, table in enumerate(tables):
        where = f"ingest.sources[{index}]"
        name = str(table.get("name") or table.get("adapter") or where)
        options = {k: v for k, v in table.items() if k != "name"}
        if options.get("adapter") == NATIVE:
            raise ValueError(f"{where}: our own layout (village/...) is always read; leave it out")
        sources.append(Source(name, build_adapter(options, catalog, where)))
    names = [s.name for s in sources]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValueError(
            f"ingest.sources: two sources are called {', '.join(repeated)}; give each a name"
        )
    return Sources(sources)
