"""Telemetry payload formats. Adding one means writing a codec module and registering it in
`default_registry`; the pipeline only ever talks to the registry."""

from village_brain.ingest.codecs.base import Codec
from village_brain.ingest.codecs.registry import CodecRegistry, default_registry

__all__ = ["Codec", "CodecRegistry", "default_registry"]
