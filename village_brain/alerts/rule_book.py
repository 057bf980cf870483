"""The rules in force: the rules file's, with those made through the API added or put in
their place. The engine evaluates them; an api process's desk edits and lists them."""

from __future__ import annotations

import logging

from village_brain.alerts.rules import Known, Rule, parse_rule
from village_brain.alerts.store import AlertStore
from village_brain.core.catalog import Catalog
from village_brain.store.registry import RegistryStore

log = logging.getLogger(__name__)


def merged_rules(file_rules: dict[str, Rule], store: AlertStore, catalog: Catalog) -> list[Rule]:
    merged = dict(file_rules)
    for raw in store.api_rules():
        try:
            rule = parse_rule(raw, catalog, stored=True)
        except ValueError as exc:
            log.warning("ignoring a stored rule: %s", exc)
            continue
        merged[rule.id] = rule
    return list(merged.values())


def rule_source(store: AlertStore, rule_id: str) -> str:
    api_ids = {raw.get("id") for raw in store.api_rules()}
    return "api" if rule_id in api_ids else "file"


def known_devices(registry: RegistryStore) -> Known:
    """What a rule's scope may name: the registered devices."""
    return Known(
        {r.device.id: (r.device.village, r.device.kind, r.device.place) for r in registry.devices()}
    )
