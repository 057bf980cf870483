"""Shelly Gen2 and later: an RPC request on `<prefix>/rpc`, `Switch.Set` for on/off
(`{"id": 0, "on": true}`) and `Cover.GoToPosition` for a position (`{"id": 0, "pos": 40}`).

The request's `id` is the command's and its `src` is `<rpc_source>/<foreign id>`, so the
device answers on `<rpc_source>/<foreign id>/rpc`; the shelly source reads that answer (a
`result`: done; an `error`: failed with its message) and the status notification after it.
"""

from __future__ import annotations

import msgspec

from village_brain.control.downlinks.base import (
    Publication,
    full_prefix,
    is_position,
    is_switch,
    switch_word,
)
from village_brain.control.records import Command
from village_brain.core.catalog import Catalog
from village_brain.ingest.sources.shelly import Shelly

NAME = "shelly"


class ShellyDownlink:
    family = NAME

    def __init__(
        self,
        village: str,
        prefixes: list[str],
        controls: dict[str, str],
        rpc_source: str,
        catalog: Catalog,
    ) -> None:
        self.village = village
        self.prefixes = prefixes
        self.controls = controls
        self.rpc_source = rpc_source
        self.catalog = catalog

    def component(self, target: str) -> tuple[str, int]:
        """(kind, id) of the Shelly component that carries `target`."""
        if target in self.controls:
            kind, _, number = self.controls[target].partition(":")
            return kind, int(number)
        return ("cover" if is_position(self.catalog, target) else "switch"), 0

    def check(self, target: str) -> str | None:
        if not (is_switch(self.catalog, target) or is_position(self.catalog, target)):
            return f"Shelly devices switch on and off and move covers, not {target}"
        kind, _ = self.component(target)
        if (kind == "cover") != is_position(self.catalog, target):
            return f"{target} cannot be set through a Shelly {kind} (see controls)"
        return None

    def publications(self, command: Command, foreign_id: str) -> list[Publication]:
        kind, number = self.component(command.target)
        if kind == "cover":
            method = "Cover.GoToPosition"
            params: dict[str, object] = {"id": number, "pos": round(float(command.value or 0))}
        else:
            method = "Switch.Set"
            params = {"id": number, "on": switch_word(self.catalog, command) == "ON"}
        frame = {
            "id": command.id,
            "src": f"{self.rpc_source}/{foreign_id}",
            "method": method,
            "params": params,
        }
        prefix = full_prefix(self.prefixes, foreign_id) or foreign_id
        return [Publication(f"{prefix}/rpc", msgspec.json.encode(frame))]

    def write_filters(self) -> list[str]:
        return [f"{pattern}/rpc" for pattern in self.prefixes]


def make(adapter: Shelly, catalog: Catalog) -> ShellyDownlink:
    options = adapter._options
    return ShellyDownlink(
        options.village, options.prefixes, options.controls, adapter.rpc_source, catalog
    )
