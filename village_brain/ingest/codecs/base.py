"""What every payload format must offer so the pipeline can use it without knowing it."""

from __future__ import annotations

from typing import Protocol

from village_brain.core.records import Decoded


class Codec(Protocol):
    """One payload format: recognises its payloads and turns them into raw readings."""

    name: str
    content_types: tuple[str, ...]

    def sniffs(self, payload: bytes) -> bool:
        """Whether the payload looks like this format; must stay cheap (first bytes only)."""
        ...

    def decode(self, payload: bytes, received_ms: int) -> Decoded:
        """Readings and per-reading problems; raises PayloadError when nothing is usable."""
        ...
