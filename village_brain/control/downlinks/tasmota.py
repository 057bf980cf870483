"""Tasmota: a relay switched by `cmnd/<topic>/POWER` with `ON` or `OFF` (FullTopic honoured).

Tasmota answers on `stat/<topic>/RESULT` and `stat/<topic>/POWER`, which the tasmota source
reads as the relay's state (`lamp_state` by default): that reading makes the command done.
"""

from __future__ import annotations

from village_brain.control.downlinks.base import Publication, is_switch, switch_word
from village_brain.control.records import Command
from village_brain.core.catalog import Catalog
from village_brain.ingest.sources.tasmota import Tasmota

NAME = "tasmota"


class TasmotaDownlink:
    family = NAME

    def __init__(self, village: str, full_topic: str, cmnd: str, catalog: Catalog) -> None:
        self.village = village
        self.template = full_topic if full_topic.endswith("/") else full_topic + "/"
        self.cmnd = cmnd
        self.catalog = catalog

    def check(self, target: str) -> str | None:
        if not is_switch(self.catalog, target):
            return f"a Tasmota relay only switches on and off; {target} is not a switch"
        if "%hostname%" in self.template or "%id%" in self.template:
            return "the source's FullTopic names devices by %hostname% or %id%; use %topic%"
        return None

    def publications(self, command: Command, foreign_id: str) -> list[Publication]:
        topic = self.template.replace("%prefix%", self.cmnd).replace("%topic%", foreign_id)
        return [Publication(topic + "POWER", switch_word(self.catalog, command).encode())]

    def write_filters(self) -> list[str]:
        levels = self.template.replace("%prefix%", self.cmnd).split("/")
        return ["/".join("+" if "%" in level else level for level in levels) + "POWER"]


def make(adapter: Tasmota, catalog: Catalog) -> TasmotaDownlink:
    options = adapter._options
    return TasmotaDownlink(options.village, options.full_topic, options.prefixes.cmnd, catalog)
